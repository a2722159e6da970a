"""Random scripts (EVAL, EVALSHA, SCRIPT, FUNCTION, FCALL) for the differential test (mixed into
diffgen.Generator, whose ``rng``, ``key()``, ``keys()``, ``value()``, ``integer()``, ``word()``
and ``index()`` they use).

Scripts come from a catalogue (``SCRIPTS``): every Lua -> RESP conversion rule (RESP2 and, after
redis.setresp(3), RESP3), errors raised and caught (redis.call, redis.pcall, pcall, error, the
global protection), writes of every type, SELECT, cjson, Redis's math.random after a seed. Their
replies are deterministic: no TIME, no unseeded random, no table iteration whose order Lua 5.1
and LuaJIT do not share (a map or set reply of several elements, pairs() into a reply), no text
with CR/LF or NUL in an error (Redis writes those raw), no RESP3 false as a whole reply (the
harness's reader takes hiredis's False for "no reply yet"). Functions come from library templates
(``LIBRARY_BODIES``) under a few names, so that loads collide, replace and fail. FUNCTION LIST,
DUMP and RESTORE have reply rules (Redis lists libraries and functions in its dicts' order).
"""

from __future__ import annotations

import hashlib

from diffreplies import is_error, parse

from resp_kv.keyspace.rdb import dump_functions, load_functions, verify

# Arguments a script takes, by kind: v value, i integer, s safe text (errors and statuses: no CR,
# LF or NUL), n a small count, j a JSON document, c a command name, d a database, m a member.
SAFE_TEXTS = [b"oops", b"ERR custom", b"MYCODE something happened", b"-NEG with dash", b"", b"x", b"a b c",
              b"WRONGTYPE fake", b"-", b"-ERR", b"\xc3\xa9t\xc3\xa9", b"trailing "]
COMMAND_NAMES = [b"nosuch", b"multi", b"exec", b"watch", b"subscribe", b"blpop", b"brpop", b"eval", b"evalsha",
                 b"fcall", b"script", b"function", b"auth", b"hello", b"quit", b"get", b"GET", b"set", b"ping",
                 b"echo", b"select", b"", b"client", b"config", b"wait", b"discard", b"kv.once", b"debug"]
JSON_DOCS = [b"[1,2,3]", b'{"a":1}', b'{"a":[1,{"b":null}]}', b"[true,false,null]", b'"str\\u00e9\\n"', b"1.5e3",
             b"-0", b"[]", b"{}", b"[1,", b'{"a" 1}', b"tru", b'"abc', b"01", b"+1", b"0x10", b"inf", b"-Infinity",
             b"nan", b"[1 2]", b"[1,2] x", b" [ 1 ] ", b'"\\ud83d\\ude00"', b'"\\ud83d"', b'"\\q"', b'{"a":1,}',
             b"[[[[]]]]", b'"a\\/b"', b"123abc", b"", b"null", b"[1.25,-3e5,1e400]", b'{"k":{"k":{"k":"v"}}}',
             b'"\\u0000x"', b"\x00[1]", b"[\"\xff\"]", b"-", b"[-]", b"1e", b"  "]
MEMBERS = [b"m", b"n", b"a", b"b", b"c", b"zz", b"1", b"10", b"-1"]
DATABASES = [b"0", b"1", b"2", b"3", b"15", b"16", b"-1", b"x", b""]

# (body, number of keys, argument kinds): bodies take KEYS and ARGV.
# (Never a table without "err" to error(): redis-server 7.0 crashes on it.)
SCRIPTS: list[tuple[bytes, int, str]] = [
    # numbers, booleans, nil, strings, arrays
    (b"return 1", 0, ""), (b"return -1.9", 0, ""), (b"return 3.99", 0, ""), (b"return 1e30", 0, ""),
    (b"return -1e30", 0, ""), (b"return 2^63", 0, ""), (b"return -2^63", 0, ""), (b"return 2^53 + 1", 0, ""),
    (b"return 0.5", 0, ""), (b"return {}", 0, ""), (b"return {1, 2, nil, 3}", 0, ""),
    (b"return {1, {2, {3, {}}}, 'x'}", 0, ""), (b"return true", 0, ""), (b"return false", 0, ""),
    (b"return nil", 0, ""), (b"return", 0, ""), (b"return {true, false, nil}", 0, ""), (b"return {false, true}", 0, ""),
    (b"return 'str'", 0, ""), (b"return ''", 0, ""), (b"return ARGV", 0, "vvv"), (b"return KEYS", 2, ""),
    (b"return {#KEYS, #ARGV}", 1, "vv"), (b"return {1, 2, 3, n = 5}", 0, ""), (b"return string.len", 0, ""),
    (b"return {KEYS[1], ARGV[1], ARGV[2]}", 1, "vi"),
    # status, error, double, map, set tables
    (b"return {ok='OK'}", 0, ""), (b"return {ok='a\\r\\nb'}", 0, ""), (b"return {err='ERR oops'}", 0, ""),
    (b"return {err='CUSTOM code here'}", 0, ""), (b"return {err='nocode'}", 0, ""), (b"return {err=''}", 0, ""),
    (b"return {err=5}", 0, ""), (b"return {ok=5}", 0, ""), (b"return {ok='x', err='y'}", 0, ""),
    (b"return {err='a\\r\\nb'}", 0, ""),
    (b"return {double=1.5}", 0, ""), (b"return {double=-0.25}", 0, ""), (b"return {double=1/0}", 0, ""),
    (b"return {double=-1/0}", 0, ""), (b"return {double=3}", 0, ""), (b"return {double=1e300*10}", 0, ""),
    (b"return {double=0.1}", 0, ""), (b"return {double='1.5'}", 0, ""), (b"return {double=tonumber(ARGV[1])}", 0, "i"),
    (b"return {map={}}", 0, ""), (b"return {map={a=1}}", 0, ""), (b"return {map={[1]={2, 3}}}", 0, ""),
    (b"return {map={x={map={y=true}}}}", 0, ""), (b"return {map={[ARGV[1]]=ARGV[2]}}", 0, "vv"),
    (b"return {set={}}", 0, ""), (b"return {set={a=true}}", 0, ""), (b"return {set={[7]=false}}", 0, ""),
    (b"return {set={[ARGV[1]]=true}}", 0, "v"),
    (b"return {1, {map={k='v'}}, {set={s=true}}, {double=2.5}, {ok='fine'}, {err='ERR inner'}}", 0, ""),
    (b"redis.setresp(3) return true", 0, ""), (b"redis.setresp(3) return {false}", 0, ""),
    (b"redis.setresp(3) return {true, false, 1}", 0, ""), (b"redis.setresp(3) redis.setresp(2) return false", 0, ""),
    (b"redis.setresp('3') return {map={k=false}}", 0, ""), (b"redis.setresp(2.5) return false", 0, ""),
    (b"return redis.status_reply(ARGV[1])", 0, "s"), (b"return redis.error_reply(ARGV[1])", 0, "s"),
    (b"return redis.error_reply('-' .. (ARGV[1] or ''))", 0, "s"), (b"return redis.status_reply()", 0, ""),
    (b"return redis.error_reply(1)", 0, ""), (b"return {redis.error_reply('x')}", 0, ""),
    (b"return redis.error_reply('')", 0, ""), (b"return redis.status_reply('')", 0, ""),
    (b"return type(redis.error_reply('x'))", 0, ""), (b"return redis.sha1hex(ARGV[1])", 0, "v"),
    (b"return redis.sha1hex()", 0, ""), (b"return redis.sha1hex(12)", 0, ""),
    # errors
    (b"return x", 0, ""), (b"x = 1", 0, ""), (b"string.len = nil", 0, ""), (b"rawset(_G, 'y', 1)", 0, ""),
    (b"setmetatable(_G, nil)", 0, ""), (b"local t = redis t.call = nil", 0, ""), (b"return _G.nothing", 0, ""),
    (b"return rawget(_G, 'redis') == redis", 0, ""), (b"return redis.call(ARGV[1])", 0, "c"),
    (b"return redis.call(ARGV[1], KEYS[1])", 1, "c"), (b"return redis.pcall(ARGV[1], KEYS[1])", 1, "c"),
    (b"return redis.call()", 0, ""), (b"return redis.pcall()", 0, ""), (b"return redis.call('get', {})", 0, ""),
    (b"return redis.call('get', true)", 0, ""), (b"return redis.call('get', nil)", 0, ""),
    (b"return redis.call('get', KEYS[1], ARGV[1])", 1, "v"), (b"return redis.call('incr', KEYS[1])", 1, ""),
    (b"return redis.pcall('incr', KEYS[1])", 1, ""), (b"return redis.pcall('incr', KEYS[1]).err", 1, ""),
    (b"local ok, e = pcall(redis.call, 'incr', KEYS[1]) return {tostring(ok), e}", 1, ""),
    (b"local ok, e = pcall(error, {err='x'}) return {tostring(ok), e}", 0, ""),
    (b"local ok, e = pcall(error, 'msg') return e", 0, ""),
    (b"local ok, e = pcall(function() local x = nil + 1 end) return e", 0, ""),
    (b"error(ARGV[1])", 0, "s"), (b"error({err=ARGV[1] or 'missing'})", 0, "s"), (b"error()", 0, ""), (b"error(42)", 0, ""),
    (b"error(ARGV[1], 0)", 0, "s"), (b"return nil + 1", 0, ""), (b"local t return t.x", 0, ""),
    (b"return #nil", 0, ""), (b"return ('x'):bad()", 0, ""), (b"return string.rep()", 0, ""),
    (b"return redis.setresp(4)", 0, ""), (b"return redis.setresp()", 0, ""), (b"redis.log(redis.LOG_WARNING)", 0, ""),
    (b"redis.log('x', 'y')", 0, ""), (b"redis.log(9, 'y')", 0, ""), (b"return redis.set_repl(9)", 0, ""),
    (b"return redis.set_repl()", 0, ""), (b"syntax error here", 0, ""), (b"return +", 0, ""),
    (b"local function f()\n  return redis.call('incr', KEYS[1])\nend\nreturn f()", 1, ""),
    (b"\n\nreturn redis.call('nosuch')", 0, ""), (b"local a = 1\nlocal b = redis.call('hget', KEYS[1])\nreturn b", 1, ""),
    (b"local t = {}\nfor i = 1, 3 do\n  t[i] = redis.call('incr', KEYS[1])\nend\nreturn t", 1, ""),
    (b"return redis.call('select', ARGV[1])", 0, "d"), (b"return redis.call('select', ARGV[1], ARGV[1])", 0, "d"),
    (b"local ok = redis.pcall('select', 99) return ok.err", 0, ""),
    # writes and reads of every type
    (b"redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])", 1, "v"),
    (b"return redis.call('set', KEYS[1], ARGV[1], 'XX')", 1, "v"),
    (b"return redis.call('incrby', KEYS[1], ARGV[1])", 1, "i"),
    (b"return redis.call('incrbyfloat', KEYS[1], ARGV[1])", 1, "i"),
    (b"return redis.call('append', KEYS[1], ARGV[1])", 1, "v"), (b"return redis.call('del', KEYS[1], KEYS[2])", 2, ""),
    (b"return redis.call('exists', KEYS[1], KEYS[2])", 2, ""), (b"return redis.call('type', KEYS[1])", 1, ""),
    (b"return redis.call('type', KEYS[1]).ok", 1, ""), (b"return redis.call('getdel', KEYS[1])", 1, ""),
    (b"return redis.call('strlen', KEYS[1])", 1, ""), (b"return redis.call('getrange', KEYS[1], 0, 5)", 1, ""),
    (b"return redis.call('setrange', KEYS[1], ARGV[1], ARGV[2])", 1, "iv"),
    (b"for i = 1, #KEYS do redis.call('set', KEYS[i], ARGV[i]) end return redis.call('mget', unpack(KEYS))", 3, "vvv"),
    (b"return redis.call('mset', KEYS[1], ARGV[1], KEYS[2], ARGV[2])", 2, "vv"),
    (b"local n = 0 for i = 1, tonumber(ARGV[1]) do n = n + redis.call('incr', KEYS[1]) end return n", 1, "n"),
    (b"local v = redis.call('get', KEYS[1]) if v then redis.call('set', KEYS[2], v) end return v", 2, ""),
    (b"redis.call('set', KEYS[1], ARGV[1]) return redis.call('incr', KEYS[1])", 1, "v"),
    (b"return {redis.call('set', KEYS[1], ARGV[1]), redis.call('get', KEYS[1])}", 1, "v"),
    (b"redis.call('expire', KEYS[1], 1000) return redis.call('ttl', KEYS[1])", 1, ""),
    (b"return redis.call('persist', KEYS[1])", 1, ""),
    (b"return redis.call('hset', KEYS[1], ARGV[1], ARGV[2])", 1, "mv"),
    (b"redis.call('hset', KEYS[1], 'f', ARGV[1]) return redis.call('hget', KEYS[1], 'f')", 1, "v"),
    (b"return {redis.call('hlen', KEYS[1]), redis.call('hexists', KEYS[1], ARGV[1])}", 1, "m"),
    (b"return redis.call('hincrby', KEYS[1], ARGV[1], ARGV[2])", 1, "mi"),
    (b"return redis.call('hdel', KEYS[1], ARGV[1])", 1, "m"),
    (b"return redis.call('rpush', KEYS[1], ARGV[1], ARGV[2])", 1, "vv"),
    (b"return redis.call('lrange', KEYS[1], 0, -1)", 1, ""), (b"return redis.call('lpop', KEYS[1])", 1, ""),
    (b"redis.call('lpush', KEYS[1], ARGV[1]) return redis.call('llen', KEYS[1])", 1, "v"),
    (b"return redis.call('sadd', KEYS[1], ARGV[1], ARGV[2])", 1, "mm"),
    (b"return redis.call('srem', KEYS[1], ARGV[1])", 1, "m"),
    (b"return {redis.call('scard', KEYS[1]), redis.call('sismember', KEYS[1], ARGV[1])}", 1, "m"),
    (b"local m = redis.call('smembers', KEYS[1]) table.sort(m) return m", 1, ""),
    (b"return redis.call('zadd', KEYS[1], ARGV[1], ARGV[2])", 1, "im"),
    (b"return redis.call('zrange', KEYS[1], 0, -1, 'WITHSCORES')", 1, ""),
    (b"return redis.call('zscore', KEYS[1], ARGV[1])", 1, "m"),
    (b"return redis.call('zincrby', KEYS[1], ARGV[1], ARGV[2])", 1, "im"),
    (b"redis.setresp(3) return redis.call('zscore', KEYS[1], ARGV[1])", 1, "m"),
    (b"redis.setresp(3) return redis.call('zrange', KEYS[1], 0, -1, 'WITHSCORES')", 1, ""),
    (b"redis.setresp(3) return redis.call('zpopmin', KEYS[1])", 1, ""),
    (b"return redis.call('lmpop', 1, KEYS[1], 'RIGHT')", 1, ""),
    (b"return redis.call('blmpop', 0, 1, KEYS[1], 'LEFT', 'COUNT', ARGV[1])", 1, "n"),
    (b"return redis.call('bzmpop', 0, 1, KEYS[1], 'MIN')", 1, ""),
    (b"return redis.call('blpop', KEYS[1], 0)", 1, ""),
    (b"redis.setresp(3) return redis.call('get', KEYS[1])", 1, ""),
    (b"redis.setresp(3) return {redis.call('get', KEYS[1])}", 1, ""),
    (b"return {redis.call('get', KEYS[1])}", 1, ""),
    (b"redis.setresp(3) return {redis.call('exists', KEYS[1]), redis.call('type', KEYS[1])}", 1, ""),
    (b"redis.setresp(3) local n = 0 for k in pairs(redis.call('hgetall', KEYS[1]).map) do n = n + 1 end return n", 1, ""),
    (b"redis.setresp(3) local n = 0 for m in pairs(redis.call('smembers', KEYS[1]).set) do n = n + 1 end return n", 1, ""),
    (b"redis.setresp(3) return redis.call('hget', KEYS[1], ARGV[1])", 1, "m"),
    (b"redis.call('select', ARGV[1]) redis.call('set', KEYS[1], ARGV[2]) return redis.call('get', KEYS[1])", 1, "dv"),
    (b"redis.call('select', ARGV[1]) return redis.call('exists', KEYS[1])", 1, "d"),
    (b"redis.set_repl(redis.REPL_ALL) return redis.call('set', KEYS[1], ARGV[1])", 1, "v"),
    (b"return redis.call('rename', KEYS[1], KEYS[2])", 2, ""),
    (b"redis.call('set', KEYS[1], ARGV[1]) redis.call('nosuch') return 1", 1, "v"),
    # cjson, math, strings, the environment
    (b"return cjson.encode({ARGV[1], tonumber(ARGV[2]), true, {}})", 0, "vi"),
    (b"return cjson.encode({[ARGV[1]]=ARGV[2]})", 0, "vv"), (b"return cjson.encode(ARGV[1])", 0, "v"),
    (b"return cjson.decode(ARGV[1])", 0, "j"), (b"return cjson.encode(cjson.decode(ARGV[1]))", 0, "j"),
    (b"return type(cjson.decode(ARGV[1]))", 0, "j"), (b"return cjson.encode(nil)", 0, ""),
    (b"return cjson.encode()", 0, ""), (b"return cjson.encode(function() end)", 0, ""),
    (b"return cjson.encode({[true]=1})", 0, ""), (b"return cjson.encode({[1]=1, [30]=2})", 0, ""),
    (b"return cjson.encode({[1]=1, [3]=2})", 0, ""), (b"return cjson.decode()", 0, ""),
    (b"return cjson.decode(cjson.encode({1, 'two', {3}}))", 0, ""), (b"return type(cjson.null)", 0, ""),
    (b"return cjson.encode({1/0})", 0, ""),
    (b"math.randomseed(tonumber(ARGV[1])) return {math.random(100), math.random(5, 10), tostring(math.random())}", 0, "i"),
    (b"math.randomseed(7) return math.random(0)", 0, ""), (b"math.randomseed(7) return math.random(3, 1)", 0, ""),
    (b"return {string.upper(ARGV[1]), string.len(ARGV[1]), string.rep(ARGV[1], 2), string.sub(ARGV[1], 2, -2)}", 0, "v"),
    (b"return {string.byte(ARGV[1], 1, 3)}", 0, "v"),
    (b"return string.format('%s|%d|%5.2f|%x', ARGV[1], 7, 2.25, 255)", 0, "s"),
    (b"return {tostring(1e15), tostring(0.1), tostring(123456789012345678), tostring(-1.5)}", 0, ""),
    (b"return bit.band(tonumber(ARGV[1]) or 0, 255)", 0, "i"), (b"return bit.tohex(tonumber(ARGV[1]) or 1)", 0, "i"),
    (b"return tostring(tonumber(ARGV[1]))", 0, "i"),
    (b"local t = {} for w in string.gmatch(ARGV[1], '%a+') do t[#t+1] = w end return t", 0, "v"),
    (b"return select('#', unpack(ARGV))", 0, "vvv"), (b"return loadstring('return 1 + 1')()", 0, ""),
    (b"return {loadstring('x =')}", 0, ""), (b"return loadstring('y = 1')()", 0, ""),
    (b"local r = {} for k in pairs(redis) do r[#r+1] = k end table.sort(r) return r", 0, ""),
    (b"local r = {} for k in pairs(_G) do r[#r+1] = k end table.sort(r) return r", 1, "v"),
    (b"local r = {} for k in pairs(cjson) do r[#r+1] = k end table.sort(r) return r", 0, ""),
    (b"return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM, _VERSION}", 0, ""),
    (b"return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}", 0, ""),
    (b"return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}", 0, ""),
    (b"return redis.breakpoint()", 0, ""), (b"redis.debug('x') return 1", 0, ""),
    (b"return redis.replicate_commands()", 0, ""), (b"redis.log(redis.LOG_DEBUG, 'hello', 1) return 1", 0, ""),
    (b"return redis.acl_check_cmd(ARGV[1])", 0, "c"), (b"return redis.acl_check_cmd('set', KEYS[1])", 1, ""),
    (b"return redis.acl_check_cmd()", 0, ""),
    (b"local co = coroutine.wrap(function(a) coroutine.yield(a + 1) end) return co(1)", 0, ""),
    (b"local t = {3, 1, 2} table.sort(t) return t", 0, ""),
    (b"return getmetatable('').__index == string", 0, ""), (b"return type(getmetatable(_G))", 0, ""),
    (b"return getmetatable(string)", 0, ""), (b"return rawget(string, 'len') == string.len", 0, ""),
    # shebangs
    (b"#!lua\nreturn redis.call('set', KEYS[1], ARGV[1])", 1, "v"),
    (b"#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", 1, ""),
    (b"#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], ARGV[1])", 1, "v"),
    (b"#!lua flags=no-writes,allow-oom\nreturn 1", 0, ""), (b"#!lua flags=bogus\nreturn 1", 0, ""),
    (b"#!lua name=x\nreturn 1", 0, ""), (b"#!luajit\nreturn 1", 0, ""), (b"#!lua", 0, ""),
    (b"#!lua flags=\nreturn error('line two')", 0, ""), (b'#!lua "unbalanced\nreturn 1', 0, ""),
]
# RESP3-only reply types (a bulk string in RESP2).
SCRIPTS += [(b"return {big_number='123456789012345678901234567890'}", 0, ""),
            (b"return {big_number=string.rep('9', #(ARGV[1] or '') + 1)}", 0, "i"),  # (digits only: hiredis reads it)
            (b"return {verbatim_string={format='txt', string=ARGV[1]}}", 0, "v"),
            (b"return {verbatim_string={format='t', string='x'}}", 0, ""),
            (b"return {verbatim_string={format='toolong', string='x'}}", 0, "")]

LIBRARY_NAMES = [b"mylib", b"lib2", b"Lib_3"]
FUNCTION_NAMES = [b"f1", b"f2", b"F1", b"get_set", b"ro_get", b"g"]
# Library code after its first line, "NAME" replaced by a function name.
LIBRARY_BODIES = [
    b"redis.register_function('NAME', function(keys, args) return redis.call('set', keys[1], args[1]) end)",
    b"redis.register_function{function_name='NAME', callback=function(keys, args) return redis.call('get', keys[1]) end, "
    b"flags={'no-writes'}}",
    b"redis.register_function('NAME', function(keys, args) return {keys, args} end)",
    b"redis.register_function('NAME', function(keys, args) return redis.call('incr', keys[1]) end)",
    b"redis.register_function{function_name='NAME', description='adds up', callback=function(keys, args) "
    b"return #keys + #args end}",
    b"redis.register_function('NAME', function(keys, args) error('boom') end)",
    b"redis.register_function('NAME', function(keys, args) return x end)",
    b"local function helper(k)\n  return redis.call('type', k)\nend\n"
    b"redis.register_function('NAME', function(keys, args) return helper(keys[1]) end)",
    b"redis.register_function{function_name='NAME', callback=function(keys, args) redis.setresp(3) "
    b"return redis.call('zscore', keys[1], args[1]) end, flags={'no-writes', 'ALLOW-OOM'}}",
    b"redis.register_function('NAME', function(keys, args) return redis.call('ping') end)\n"
    b"redis.register_function('NAME_2', function(keys, args) return redis.call('echo', args[1]) end)",
    # failures
    b"local x = string.len('a')\nredis.register_function('NAME', function() return 1 end)",
    b"x = 1", b"redis.call('ping')", b"", b"syntax error", b"error('load failed')",
    b"redis.register_function{function_name='NAME', callback=function() return 1 end, flags={'bogus'}}",
    b"redis.register_function('NAME', function() return 1 end)\nredis.register_function('NAME', function() return 2 end)",
    b"redis.register_function('bad-name', function() return 1 end)", b"redis.register_function('NAME')",
    b"redis.register_function{callback=function() return 1 end}", b"redis.register_function()",
]
BAD_HEADERS = [b"#!lua\n", b"#!js name=NAME\n", b"#!lua name=NAME foo=bar\n", b"#!lua name=a name=b\n",
               b"lua name=NAME\n", b"#!lua name=bad-name\n", b"#!LUA name=NAME\n", b"#!lua name=\n",
               b'#!lua name="NAME"\n', b"#!lua name=NAME"]
LIST_PATTERNS = [b"*", b"lib*", b"MYLIB", b"my?ib", b"[lm]*", b"nomatch", b"", b"*3"]


def sha(body: bytes) -> bytes:
    return hashlib.sha1(body).hexdigest().encode()


class ScriptStreams:
    FAMILIES: list[tuple[str, float]] = [
        ("g_eval", 12), ("g_evalsha", 3), ("g_script", 1.5), ("g_function_load", 2), ("g_fcall", 3),
        ("g_function", 2),
    ]
    COMPARE: dict = {}  # (set below: FUNCTION's reply rules)
    NOT_IN_TX: tuple[str, ...] = ()

    # -- scripts -------------------------------------------------------------------------------

    def script_arg(self, kind: str) -> bytes:
        rng = self.rng
        if kind == "v":
            return self.value()
        if kind == "i":
            return self.integer()
        if kind == "s":
            return rng.choice(SAFE_TEXTS)
        if kind == "n":
            return b"%d" % rng.randint(0, 5)
        if kind == "j":
            return rng.choice(JSON_DOCS)
        if kind == "c":
            return rng.choice(COMMAND_NAMES)
        if kind == "d":
            return rng.choice(DATABASES)
        return rng.choice(MEMBERS) if rng.random() < 0.85 else self.value()

    def script_call(self, body: bytes, nkeys: int, kinds: str) -> list[bytes]:
        """numkeys, the keys and the arguments for a script: mostly as it expects them, now and then
        a bad numkeys or an argument too few or too many."""
        keys = [self.key() for _ in range(nkeys)]
        args = [self.script_arg(kind) for kind in kinds]
        r = self.rng.random()
        if r < 0.05:
            args = args[:-1]
        elif r < 0.1:
            args.append(self.value())
        numkeys = b"%d" % len(keys)
        r = self.rng.random()
        if r < 0.03:
            numkeys = self.rng.choice([b"-1", b"x", b"", b"1.5", b"99", b"9223372036854775808", b" 1"])
        elif r < 0.06 and keys:
            numkeys = b"%d" % (len(keys) - 1)
        return [numkeys] + keys + args

    def pick_script(self) -> tuple[bytes, int, str]:
        body, nkeys, kinds = self.rng.choice(SCRIPTS)
        if self.rng.random() < 0.08 and not body.startswith(b"#!"):
            body = self.rng.choice([b"\n\n", b"-- a comment\n", b"#!lua\n"]) + body
        return body, nkeys, kinds

    def g_eval(self) -> list[bytes]:
        body, nkeys, kinds = self.pick_script()
        self.__dict__.setdefault("script_bodies", set()).add(body)
        name = self.rng.choice([b"EVAL"] * 5 + [b"EVAL_RO"])
        return [self.word(name), body] + self.script_call(body, nkeys, kinds)

    def g_evalsha(self) -> list[bytes]:
        bodies = sorted(self.__dict__.get("script_bodies", ()))
        r = self.rng.random()
        if bodies and r < 0.8:
            body = self.rng.choice(bodies)
            spec = next((s for s in SCRIPTS if s[0] == body or body.endswith(b"\n" + s[0])), (body, 0, ""))
            digest = sha(body)
            if self.rng.random() < 0.1:
                digest = digest.upper()
            call = self.script_call(body, spec[1], spec[2])
        else:
            digest = self.rng.choice([sha(b"return 'never loaded'"), b"abc", b"", b"0" * 40, b"x" * 40, b"f" * 41])
            call = [b"0"]
        name = self.rng.choice([b"EVALSHA"] * 4 + [b"EVALSHA_RO"])
        return [self.word(name), digest] + call

    def g_script(self) -> list[bytes]:
        """(No SCRIPT DEBUG: Redis refuses it with replies pending, in EXEC or a pipeline.)"""
        r = self.rng.random()
        word = self.word
        if r < 0.45:
            body = self.pick_script()[0] if self.rng.random() < 0.9 else self.rng.choice(
                [b"return +", b"#!lua flags=bogus\nreturn 1", b"syntax error"])
            self.__dict__.setdefault("script_bodies", set()).add(body)
            return [word(b"SCRIPT"), word(b"LOAD"), body]
        if r < 0.7:
            bodies = sorted(self.__dict__.get("script_bodies", ())) or [b"return 1"]
            shas = [sha(self.rng.choice(bodies)) for _ in range(self.rng.randint(1, 3))]
            shas += self.rng.sample([b"abc", b"0" * 40, sha(bodies[0]).upper(), b""], self.rng.randint(0, 2))
            return [word(b"SCRIPT"), word(b"EXISTS")] + shas
        if r < 0.78:
            return [word(b"SCRIPT"), word(b"FLUSH")] + self.rng.choice(
                [[], [], [word(b"ASYNC")], [word(b"SYNC")], [b"FOO"], [b"SYNC", b"ASYNC"]])
        return self.rng.choice([[word(b"SCRIPT"), word(b"KILL")], [word(b"SCRIPT"), word(b"HELP")],
                                [word(b"SCRIPT"), b"FOO"], [word(b"SCRIPT"), word(b"LOAD")],
                                [word(b"SCRIPT"), word(b"EXISTS")], [word(b"SCRIPT"), word(b"HELP"), b"x"]])

    # -- functions -----------------------------------------------------------------------------

    def library_code(self) -> bytes:
        """A library: a name of a few, one or two functions of a few names (collisions happen)."""
        rng = self.rng
        name = rng.choice(LIBRARY_NAMES)
        header = b"#!lua name=" + name + b"\n"
        if rng.random() < 0.08:
            header = rng.choice(BAD_HEADERS).replace(b"NAME", name)
        parts = []
        # Names that differ only in case within one library: Redis keeps one of them, which one
        # depending on its dict's order (and asserts when the library goes): never two of those.
        names = rng.sample([n for n in FUNCTION_NAMES if n != b"F1"] if rng.random() < 0.7 else
                           [n for n in FUNCTION_NAMES if n != b"f1"], 2)
        for name in names[: rng.choice([1, 1, 1, 2])]:
            body = rng.choice(LIBRARY_BODIES[:10]) if rng.random() < 0.85 else rng.choice(LIBRARY_BODIES[10:])
            parts.append(body.replace(b"NAME", name))
        return header + b"\n".join(parts)

    def g_function_load(self) -> list[bytes]:
        cmd = [self.word(b"FUNCTION"), self.word(b"LOAD")]
        r = self.rng.random()
        if r < 0.35:
            cmd.append(self.word(b"REPLACE"))
        elif r < 0.38:
            cmd.append(self.rng.choice([b"FOO", b"REPLACE\x00"]))
        return cmd + [self.library_code()]

    def g_fcall(self) -> list[bytes]:
        name = self.rng.choice(FUNCTION_NAMES + [b"f1_2", b"nosuch", b"get_set_2"])
        nkeys = self.rng.choice([0, 1, 1, 2])
        call = self.script_call(b"", nkeys, self.rng.choice(["", "v", "m", "vv"]))
        return [self.word(self.rng.choice([b"FCALL"] * 4 + [b"FCALL_RO"])), name] + call

    def g_function(self) -> list[bytes]:
        word, rng = self.word, self.rng
        r = rng.random()
        if r < 0.3:
            cmd = [word(b"FUNCTION"), word(b"LIST")]
            opts = []
            if rng.random() < 0.4:
                opts.append([word(b"WITHCODE")])
            if rng.random() < 0.4:
                opts.append([word(b"LIBRARYNAME"), rng.choice(LIST_PATTERNS)])
            if rng.random() < 0.05:
                opts.append([rng.choice([b"FOO", b"WITHCODE", b"LIBRARYNAME"])])
            rng.shuffle(opts)
            return cmd + [w for o in opts for w in o]
        if r < 0.45:
            return [word(b"FUNCTION"), word(b"DELETE"), rng.choice(LIBRARY_NAMES + [b"nolib", b"MYLIB"])]
        if r < 0.52:
            return [word(b"FUNCTION"), word(b"FLUSH")] + rng.choice([[], [word(b"SYNC")], [word(b"ASYNC")], [b"x"],
                                                                     [b"SYNC", b"x"]])
        if r < 0.62:
            return [word(b"FUNCTION"), word(b"DUMP")]
        if r < 0.8:
            return [word(b"FUNCTION"), word(b"RESTORE"), self.payload()] + rng.choice(
                [[], [word(b"APPEND")], [word(b"REPLACE")], [word(b"FLUSH")], [b"bad"], [word(b"APPEND"), b"x"]])
        return rng.choice([[word(b"FUNCTION"), word(b"STATS")], [word(b"FUNCTION"), word(b"KILL")],
                           [word(b"FUNCTION"), word(b"HELP")], [word(b"FUNCTION"), b"FOO"],
                           [word(b"FUNCTION"), word(b"STATS"), b"x"], [word(b"FUNCTION"), word(b"DELETE")]])

    def payload(self) -> bytes:
        """A FUNCTION RESTORE payload: one or two libraries (valid or not), sometimes damaged."""
        codes = [self.library_code() for _ in range(self.rng.choice([1, 1, 2]))]
        data = dump_functions(codes)
        r = self.rng.random()
        if r < 0.05:
            data = data[:-1] + bytes([data[-1] ^ 1])  # the checksum
        elif r < 0.08:
            data = data[:-10] + b"\x0b\x00" + data[-8:]  # a newer RDB version
        elif r < 0.1:
            data = data[:5]
        elif r < 0.12:
            data = b"\x00" + data  # a type that is not a function (and a wrong checksum)
        return data


# -- reply rules -------------------------------------------------------------------------------


def _bag(value):
    """A reply with every order forgotten (Redis lists libraries and functions in its dicts'
    order): arrays, maps and sets as sorted tuples."""
    if isinstance(value, dict):
        return tuple(sorted(repr((_bag(k), _bag(v))) for k, v in value.items()))
    if isinstance(value, (list, set, tuple)):
        return tuple(sorted(repr(_bag(v)) for v in value))
    return repr(value)


def _same_collision(a: bytes, b: bytes) -> bool:
    """Two errors naming a library or function that already exists, whichever (Redis names the
    first in its dict's order)."""
    for start in (b"-ERR Library ", b"-ERR Function ", b"-ERR Error registering functions: ERR Function "):
        if a.startswith(start) and b.startswith(start) and a.endswith(b" already exists\r\n") \
                and b.endswith(b" already exists\r\n"):
            return True
    return False


def compare_function(cmd, a: bytes, b: bytes) -> str | None:
    if a == b:
        return None
    sub = cmd[1].upper() if len(cmd) > 1 else b""
    if _same_collision(a, b):
        return None
    x, y = parse(a), parse(b)
    if is_error(x) or is_error(y):
        return "replies differ"
    if sub == b"DUMP" and isinstance(x, bytes) and isinstance(y, bytes):
        if not (verify(x) and verify(y)):
            return "a payload does not verify"
        return None if sorted(load_functions(x)) == sorted(load_functions(y)) else "different libraries dumped"
    if sub == b"LIST":
        return None if _bag(x) == _bag(y) else "different libraries listed"
    return "replies differ"


ScriptStreams.COMPARE = {b"FUNCTION": compare_function}
