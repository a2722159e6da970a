"""Lua scripts and functions (resp_kv/keyspace/scripts.py, luaenv.py, rdb.py), driven on a store
directly: replies, what the backup runs instead of a script, SCRIPT KILL, FUNCTION DUMP/RESTORE
(against a real redis-server too, when there is one)."""

import shutil
import socket
import subprocess
import threading
import time

import hiredis
import pytest

from resp_kv.keyspace.luaenv import keep_returns
from resp_kv.keyspace.rdb import crc64, dump_functions, load_functions, lzf_decompress, verify
from resp_kv.commands import subcommand_error
from resp_kv.protocol import OK, Error, Status, encode, encode_command
from resp_kv.store import Store
from storecalls import run

INT64_MIN = -(2**63)
LIB = "#!lua name=mylib\nredis.register_function('setter', function(keys, args) return redis.call('set', keys[1], args[1]) end)"


def sha1(text: str) -> bytes:
    import hashlib
    return hashlib.sha1(text.encode()).hexdigest().encode()


def backup_of(primary: Store, effects) -> Store:
    """A store that ran ``effects`` (what the primary forwarded) from empty."""
    backup = Store()
    backup.now = primary.now
    for request in effects:
        backup.apply(request)
    return backup


# ------------------------------------------------------------------ conversions


@pytest.mark.parametrize("script, reply", [
    ("return 1", 1), ("return -1.9", -1), ("return 1e30", INT64_MIN), ("return 0/0", INT64_MIN),
    ("return 'x'", b"x"), ("return true", 1), ("return false", None), ("return nil", None),
    ("return {1, 2, nil, 3}", [1, 2]), ("return {1, {2, {}}, 'x'}", [1, [2, []], b"x"]),
    ("return {ok='fine'}", Status("fine")), ("return {ok='a\\r\\nb'}", Status("a  b")),
    ("return {err='MYERR bad'}", Error("MYERR bad")), ("return {double=1.5}", 1.5),
    ("return {double=-0.0}", -0.0), ("return {double=1/0}", float("inf")),
    ("return {map={a=1}}", {b"a": 1}), ("return {set={a=true}}", {b"a"}), ("return {err=5}", []),
    ("redis.setresp(3) return true", True), ("redis.setresp(3) return {false}", [False]),
    ("return redis.error_reply('boom')", Error("ERR boom")), ("return redis.status_reply('QUEUED')", Status("QUEUED")),
    ("return string.len", None),
])
def test_a_scripts_lua_result_becomes_the_reply_redis_makes_of_it(script, reply):
    got = run(Store(), "EVAL", script, "0")
    assert got == reply and got.__class__ is reply.__class__ and encode(got) == encode(reply)


def test_redis_call_hands_replies_to_lua_in_the_scripts_resp_version():
    s = Store()
    run(s, "HSET", "h", "f", "v")
    run(s, "ZADD", "z", "1.5", "m")
    assert run(s, "EVAL", "return redis.call('hgetall', KEYS[1])", "1", "h") == [b"f", b"v"]
    assert run(s, "EVAL", "redis.setresp(3) return redis.call('hgetall', KEYS[1]).map.f", "1", "h") == b"v"
    assert run(s, "EVAL", "return redis.call('zscore', 'z', 'm')", "0") == b"1.5"
    assert run(s, "EVAL", "redis.setresp(3) return redis.call('zscore', 'z', 'm')", "0") == 1.5
    assert run(s, "EVAL", "return redis.call('get', 'nokey')", "0") is None  # false: nil
    assert run(s, "EVAL", "return type(redis.call('get', 'nokey'))", "0") == b"boolean"
    assert run(s, "EVAL", "redis.setresp(3) return type(redis.call('get', 'nokey'))", "0") == b"nil"
    assert run(s, "EVAL", "return redis.call('type', 'h').ok", "0") == b"hash"
    run(s, "SADD", "ints", "3", "1", "2")  # an intset: a set reply in ascending order
    assert run(s, "EVAL", "return redis.call('smembers', 'ints')", "0") == [b"1", b"2", b"3"]
    assert run(s, "EVAL", "redis.setresp(3) return redis.call('smembers', 'ints').set['2']", "0") == 1
    assert run(s, "EVAL", "return redis.pcall('incr', 'h').err", "0") == \
        b"WRONGTYPE Operation against a key holding the wrong kind of value"


def test_numbers_go_to_commands_as_redis_prints_them():
    s = Store()
    assert run(s, "EVAL", "redis.call('set', 'k', 0.1) return redis.call('get', 'k')", "0") == b"0.10000000000000001"
    assert run(s, "EVAL", "redis.call('set', 'k', 2^63) return redis.call('get', 'k')", "0") == \
        b"9.2233720368547758e+18"


# ------------------------------------------------------------------ errors, as redis-server words them


def test_errors_carry_the_script_and_the_line_even_from_a_tail_call():
    s = Store()
    run(s, "SET", "k", "text")
    script = "local function f()\n  return redis.call('incr', KEYS[1])\nend\nreturn f()"
    assert run(s, "EVAL", script, "1", "k") == Error(
        f"ERR value is not an integer or out of range script: {sha1(script).decode()}, on @user_script:2.")


@pytest.mark.parametrize("script, error", [
    ("return x", "ERR user_script:1: Script attempted to access nonexistent global variable 'x'"),
    ("x = 1", "ERR user_script:1: Attempt to modify a readonly table"),
    ("string.len = nil", "ERR user_script:1: Attempt to modify a readonly table"),
    ("rawset(_G, 'x', 1)", "ERR Attempt to modify a readonly table"),
    ("return os", "ERR user_script:1: Script attempted to access nonexistent global variable 'os'"),
    ("return redis.call('nosuch')", "ERR Unknown Redis command called from script"),
    ("return redis.call('get')", "ERR Wrong number of args calling Redis command from script"),
    ("return redis.call('multi')", "ERR This Redis command is not allowed from script"),
    ("return redis.call('script', 'load', 'return 1')", "ERR This Redis command is not allowed from script"),
    ("return redis.call({})", "ERR Lua redis lib command arguments must be strings or integers"),
    ("return redis.call()", "ERR Please specify at least one argument for this redis lib call"),
    ("error('boom')", "ERR user_script:1: boom"), ("error({err='MINE here'})", "MINE here"),
    ("redis.setresp(4)", "ERR RESP version must be 2 or 3."),
    ("return cjson.decode('[1,')", "ERR user_script:1: Expected value but found T_END at character 4"),
])
def test_script_errors_are_worded_as_redis_words_them(script, error):
    assert run(Store(), "EVAL", script, "0") == Error(f"{error} script: {sha1(script).decode()}, on @user_script:1.")


def test_a_compile_error_and_bad_arguments_are_refused_before_anything_runs():
    s = Store()
    assert run(s, "EVAL", "return +", "0") == Error(
        "ERR Error compiling script (new function): user_script:1: unexpected symbol near '+'")
    assert run(s, "EVAL", "return 1", "-1") == Error("ERR Number of keys can't be negative")
    assert run(s, "EVAL", "return 1", "2", "a") == Error("ERR Number of keys can't be greater than number of args")
    assert run(s, "EVAL", "return 1", "x") == Error("ERR value is not an integer or out of range")
    assert run(s, "EVALSHA", "abc", "0") == Error("NOSCRIPT No matching script. Please use EVAL.")
    assert run(s, "EVAL", "#!lua flags=bogus\nreturn 1", "0") == Error("ERR Unexpected flag in script shebang: bogus")


def test_redis_pcall_and_pcall_return_errors_instead_of_raising_them():
    s = Store()
    assert run(s, "EVAL", "return redis.pcall('nosuch')", "0") == Error("ERR Unknown Redis command called from script")
    assert run(s, "EVAL", "return {pcall(redis.call, 'nosuch')}", "0") == [
        None, b"ERR Unknown Redis command called from script"]


def test_the_sandbox_has_redis_globals_only_and_keeps_them_read_only():
    s = Store()
    names = run(s, "EVAL", "local r = {} for k in pairs(_G) do r[#r+1] = k end table.sort(r) return r", "0")
    assert names == [n.encode() for n in sorted([
        "ARGV", "KEYS", "_G", "_VERSION", "__redis__err__handler", "assert", "bit", "cjson", "cmsgpack",
        "collectgarbage", "coroutine", "error", "gcinfo", "getmetatable", "ipairs", "load", "loadstring", "math",
        "next", "pairs", "pcall", "rawequal", "rawget", "rawset", "redis", "select", "setmetatable", "string",
        "struct", "table", "tonumber", "tostring", "type", "unpack", "xpcall"])]
    assert run(s, "EVAL", "return loadstring('y = 1')()", "0").startswith("ERR [string \"y = 1\"]:1: Attempt to")
    assert run(s, "EVAL", "return load('return io')()", "0").startswith("ERR [string \"return io\"]:1: Script att")
    assert run(s, "EVAL", "return ('abc'):upper()", "0") == b"ABC"


def test_math_random_is_redis_own_generator_and_sequence():
    s = Store()
    assert run(s, "EVAL", "return {math.random(1000000), math.random(1000000)}", "0") == [396465, 840486]
    seeded = "math.randomseed(7) return {math.random(100), math.random(5, 10)}"
    assert run(s, "EVAL", seeded, "0") == run(Store(), "EVAL", seeded, "0")


def test_cjson_encodes_and_decodes_as_lua_cjson():
    s = Store()
    assert run(s, "EVAL", "return cjson.encode({'a/b', 1.5, true, {}, cjson.null})", "0") == b'["a\\/b",1.5,true,{},null]'
    assert run(s, "EVAL", "return cjson.encode({1, nil, 3})", "0") == b"[1,null,3]"
    assert run(s, "EVAL", "return cjson.decode('{\"a\":[1,{\"b\":\"c\"}]}').a[2].b", "0") == b"c"
    assert run(s, "EVAL", "return cjson.encode({[1]=1, [30]=2})", "0").startswith(
        "ERR user_script:1: Cannot serialise table: excessively sparse array")


def test_keep_returns_wraps_return_values_without_moving_lines():
    code = b"local function f()\n  return 1, g()\nend\nif x then return end\nreturn f() -- return\n"
    kept = keep_returns(code)
    assert kept.count(b"\n") == code.count(b"\n")
    assert b"return __redis_keep__(1, g())" in kept and b"return __redis_keep__(f())" in kept
    assert b"then return end" in kept and b"-- return\n" in kept
    assert run(Store(), "EVAL", "local function f() return 1, 2 end\nreturn {f()}", "0") == [1, 2]


# ------------------------------------------------------------------ read-only scripts


def test_read_only_scripts_refuse_writes_as_redis_does():
    s = Store()
    refused = "ERR Write commands are not allowed from read-only scripts."
    assert run(s, "EVAL_RO", "return redis.call('set', 'k', 'v')", "0").startswith(refused)
    assert run(s, "EVAL", "#!lua flags=no-writes\nreturn redis.call('set', 'k', 'v')", "0").startswith(refused)
    assert run(s, "EVAL_RO", "#!lua\nreturn 1", "0") == Error(
        "ERR Can not execute a script with write flag using *_ro command.")
    assert run(s, "EVAL_RO", "#!lua flags=no-writes\nreturn redis.call('get', 'k')", "0") is None
    assert s.db.data == {}


# ------------------------------------------------------------------ replication


def test_eval_caches_its_script_and_the_backup_gets_it_with_the_writes():
    s = Store()
    assert run(s, "EVAL", "return redis.call('set', KEYS[1], ARGV[1])", "1", "k", "v") == OK
    assert s.effects == [[b"SCRIPT", b"LOAD", b"return redis.call('set', KEYS[1], ARGV[1])"], [b"set", b"k", b"v"]]
    backup = backup_of(s, s.effects)
    assert backup.digest() == s.digest() and backup.scripts == s.scripts
    digest = sha1("return redis.call('set', KEYS[1], ARGV[1])")
    assert run(s, "EVALSHA", digest.upper(), "1", "k", "w") == OK
    assert s.effects == [[b"set", b"k", b"w"]]  # cached already: only the write
    assert run(backup, "EVALSHA", digest, "1", "k", "w") == OK


def test_the_backup_runs_the_writes_not_the_script_whatever_it_drew():
    s = Store()
    s.now = 1000.5
    run(s, "SADD", "set", *[f"m{i}" for i in range(20)])
    backup = backup_of(s, [[b"SADD", b"set", *[b"m%d" % i for i in range(20)]]])
    script = ("local t = redis.call('time') redis.call('set', 'when', t[1] .. math.random(1000)) "
              "redis.call('get', 'when') return redis.call('spop', 'set', 3)")
    popped = run(s, "EVAL", script, "0")
    effects = s.effects
    assert len(popped) == 3 and [e[0].upper() for e in effects] == [b"SCRIPT", b"SET", b"SREM"]
    assert effects[1][2].startswith(b"1000") and sorted(effects[2][2:]) == sorted(popped)
    for request in effects:
        backup.apply(request)
    assert backup.digest() == s.digest()


def test_a_script_that_only_reads_sends_the_backup_nothing_unless_a_key_expired():
    s = Store()
    run(s, "SET", "k", "v", "PX", "100", now=1.0)
    run(s, "SCRIPT", "LOAD", "return redis.call('get', KEYS[1])")
    run(s, "EVAL", "return redis.call('get', KEYS[1])", "1", "other", now=1.05)
    assert s.effects == []
    assert run(s, "EVAL", "return redis.call('get', KEYS[1])", "1", "k", now=2.0) is None
    assert s.effects == [[b"get", b"k"]]  # it deleted k: so does the backup


def test_a_select_in_a_script_leaves_the_caller_where_it_was_and_the_backup_follows():
    s = Store()
    run(s, "SELECT", "2")
    script = "redis.call('select', 5) redis.call('set', 'k', 'five') return redis.call('get', 'k')"
    assert run(s, "EVAL", script, "0") == b"five"
    assert s.db.index == 2 and s.dbs[5].data == {b"k": b"five"}
    assert s.effects[1:] == [[b"select", b"5"], [b"set", b"k", b"five"], [b"SELECT", b"2"]]


def test_a_failing_script_still_sends_the_writes_it_made():
    s = Store()
    assert run(s, "EVAL", "redis.call('set', 'k', 'v') error('late')", "0").startswith("ERR user_script:1: late")
    assert s.effects[1:] == [[b"set", b"k", b"v"]]


def test_a_library_reaches_the_backup_as_a_restore_of_what_loaded():
    s = Store()
    assert run(s, "FUNCTION", "LOAD", LIB) == b"mylib"
    (restore,) = s.effects
    assert restore[:2] == [b"FUNCTION", b"RESTORE"] and restore[3] == b"REPLACE" and load_functions(restore[2]) == [
        LIB.encode()]
    backup = backup_of(s, s.effects)
    assert backup.libraries == s.libraries
    assert run(s, "FUNCTION", "LOAD", LIB) == Error("ERR Library 'mylib' already exists") and s.effects == []


def test_script_state_rebuilds_scripts_and_libraries_on_a_new_store():
    s = Store()
    run(s, "SCRIPT", "LOAD", "return 'cached'")
    assert run(s, "FUNCTION", "LOAD", LIB) == b"mylib"
    fresh = Store()
    for request in s.script_state():
        fresh.apply(request)
    assert run(fresh, "EVALSHA", sha1("return 'cached'"), "0") == b"cached"
    assert run(fresh, "FCALL", "setter", "1", "k", "v") == OK and fresh.libraries == s.libraries
    transferred = Store()
    transferred.scripts.update(s.scripts)  # a plain dict: compiled on first use
    assert run(transferred, "EVALSHA", sha1("return 'cached'"), "0") == b"cached"


# ------------------------------------------------------------------ SCRIPT


def test_script_load_exists_and_flush():
    s = Store()
    digest = run(s, "SCRIPT", "LOAD", "return 1")
    assert digest == sha1("return 1") and s.effects is None  # forwarded as it came
    assert run(s, "SCRIPT", "EXISTS", digest, digest.upper(), "nope") == [1, 1, 0]
    assert run(s, "SCRIPT", "FLUSH", "FOO") == Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    assert run(s, "SCRIPT", "FLUSH", "ASYNC") == OK and run(s, "SCRIPT", "EXISTS", digest) == [0]
    assert run(s, "SCRIPT", "LOAD") == Error("ERR wrong number of arguments for 'script|load' command")
    assert run(s, "SCRIPT", "NOPE") == Error("ERR unknown subcommand 'NOPE'. Try SCRIPT HELP.")
    assert run(s, "SCRIPT", "HELP")[0] == Status("SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:")


def test_subcommand_errors_come_before_running_as_in_multi():
    assert subcommand_error([b"script", b"load"]) == Error("ERR wrong number of arguments for 'script|load' command")
    assert subcommand_error([b"FUNCTION", b"x"]) == Error("ERR unknown subcommand 'x'. Try FUNCTION HELP.")
    assert subcommand_error([b"FUNCTION", b"list"]) is None and subcommand_error([b"GET", b"k"]) is None


# ------------------------------------------------------------------ SCRIPT KILL, FUNCTION KILL, BUSY


def run_in_thread(store: Store, *args):
    out = []
    thread = threading.Thread(target=lambda: out.append(store.run([a.encode() for a in args])))
    thread.start()
    deadline = time.monotonic() + 5
    while store.script_run is None and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.001)
    return thread, out


def test_script_kill_stops_a_script_that_has_not_written_even_one_that_pcalls():
    s = Store()
    assert s.script_kill(eval_mode=True) == Error("NOTBUSY No scripts in execution right now.")
    script = "local i = 0\nwhile true do\n  pcall(function() i = i + 1 end)\nend"
    thread, out = run_in_thread(s, "EVAL", script, "0")
    assert s.busy_error() == Error("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
    assert s.script_kill(eval_mode=False).startswith("BUSY")  # FUNCTION KILL: not for EVAL
    assert s.run([b"FUNCTION", b"KILL"]).startswith("BUSY")
    assert s.script_kill(eval_mode=True) == OK
    thread.join(5)
    assert out == [Error(f"ERR Script killed by user with SCRIPT KILL... script: {sha1(script).decode()}, "
                         "on @user_script:3.")]
    assert s.script_run is None


def test_a_script_that_wrote_cannot_be_killed():
    s = Store()
    thread, out = run_in_thread(s, "EVAL", "redis.call('set', 'k', 'v') "
                                "while not redis.call('get', 'stop') do end return 1", "0")
    assert s.script_kill(eval_mode=True).startswith("UNKILLABLE Sorry the script already executed write commands")
    s.dbs[0].data[b"stop"] = b"1"  # (behind the store's back: the script ends when it reads it)
    thread.join(5)
    assert out == [1]


def test_function_kill_stops_a_function_and_stats_show_it_meanwhile():
    s = Store()
    run(s, "FUNCTION", "LOAD", "#!lua name=spin\nredis.register_function('spin', function() while true do end end)")
    thread, out = run_in_thread(s, "FCALL", "spin", "0")
    stats = s.run([b"FUNCTION", b"STATS"])
    assert stats[b"running_script"][b"name"] == b"spin" and stats[b"running_script"][b"command"][0] == b"FCALL"
    assert s.script_kill(eval_mode=True).startswith("BUSY Redis is busy running a script. You can only call FUNCTION")
    assert s.script_kill(eval_mode=False) == OK
    thread.join(5)
    assert out[0].startswith("ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.")


# ------------------------------------------------------------------ FUNCTION


def test_function_load_fcall_list_delete():
    s = Store()
    assert run(s, "FUNCTION", "LOAD", LIB) == b"mylib"
    assert run(s, "FUNCTION", "LOAD", LIB) == Error("ERR Library 'mylib' already exists")
    assert run(s, "FUNCTION", "LOAD", "REPLACE", LIB) == b"mylib"
    assert run(s, "FCALL", "SETTER", "1", "k", "v") == OK and s.effects == [[b"set", b"k", b"v"]]
    assert run(s, "FCALL_RO", "setter", "1", "k", "v") == Error(
        "ERR Can not execute a script with write flag using *_ro command.")
    other = "#!lua name=other\nredis.register_function('setter', function() return 1 end)"
    assert run(s, "FUNCTION", "LOAD", other) == Error("ERR Function setter already exists")
    listed = run(s, "FUNCTION", "LIST", "WITHCODE")
    assert listed == [{b"library_name": b"mylib", b"engine": b"LUA", b"functions": [
        {b"name": b"setter", b"description": None, b"flags": set()}], b"library_code": LIB.encode()}]
    assert run(s, "FUNCTION", "LIST", "LIBRARYNAME", "MY*")[0][b"library_name"] == b"mylib"
    assert run(s, "FUNCTION", "LIST", "LIBRARYNAME", "x") == []
    assert run(s, "FUNCTION", "DELETE", "mylib") == OK and run(s, "FCALL", "setter", "0") == Error("ERR Function not found")
    assert run(s, "FUNCTION", "DELETE", "mylib") == Error("ERR Library not found")


@pytest.mark.parametrize("code, error", [
    ("return 1", "ERR Missing library metadata"),
    ("#!lua\nreturn 1", "ERR Library name was not given"),
    ("#!js name=x\nreturn 1", "ERR Engine 'js' not found"),
    ("#!lua name=x\n", "ERR No functions registered"),
    ("#!lua name=x\nredis.call('ping')",
     "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'call'"),
    ("#!lua name=x\nlocal s = string.len('a')",
     "ERR Error registering functions: ERR user_function:2: Script attempted to access nonexistent global variable 'string'"),
    ("#!lua name=x\nsyntax error", "ERR Error compiling function: user_function:2: '=' expected near 'error'"),
    ("#!lua name=x\nredis.register_function('a-b', function() end)",
     "ERR Error registering functions: ERR Library names can only contain letters, numbers, or underscores(_) and "
     "must be at least one character long"),
    ("#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags={'bogus'}}",
     "ERR Error registering functions: ERR unknown flag given"),
])
def test_function_load_refuses_bad_libraries_as_redis_does(code, error):
    assert run(Store(), "FUNCTION", "LOAD", code) == Error(error)


def test_a_function_flagged_no_writes_runs_read_only():
    s = Store()
    code = ("#!lua name=ro\nredis.register_function{function_name='peek', callback=function(keys) "
            "return redis.call('set', keys[1], 'x') end, flags={'no-writes'}}")
    run(s, "FUNCTION", "LOAD", code)
    assert run(s, "FCALL_RO", "peek", "1", "k") == Error(
        "ERR Write commands are not allowed from read-only scripts. script: peek, on @user_function:2.")
    assert run(s, "FUNCTION", "LIST")[0][b"functions"][0][b"flags"] == {Status("no-writes")}


def test_a_library_that_never_ends_loading_times_out():
    s = Store()
    s.function_load_timeout = 0.05
    assert run(s, "FUNCTION", "LOAD", "#!lua name=slow\nwhile true do end") == Error(
        "ERR Error registering functions: ERR FUNCTION LOAD timeout")


def test_function_dump_and_restore_with_each_policy():
    s = Store()
    run(s, "FUNCTION", "LOAD", LIB)
    payload = run(s, "FUNCTION", "DUMP")
    assert verify(payload) and load_functions(payload) == [LIB.encode()]
    assert run(s, "FUNCTION", "RESTORE", payload) == Error("ERR Library mylib already exists")
    assert run(s, "FUNCTION", "RESTORE", payload, "REPLACE") == OK
    assert run(s, "FUNCTION", "RESTORE", payload, "FOO") == Error(
        "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    assert run(s, "FUNCTION", "RESTORE", payload[:-1] + b"x") == Error("ERR DUMP payload version or checksum are wrong")
    other = dump_functions([b"#!lua name=other\nredis.register_function('o', function() return 7 end)"])
    assert run(s, "FUNCTION", "RESTORE", other, "FLUSH") == OK
    assert list(s.libraries) == ["other"] and run(s, "FCALL", "o", "0") == 7
    assert run(s, "FUNCTION", "FLUSH") == OK and run(s, "FUNCTION", "DUMP") == dump_functions([])


def test_rdb_checksum_and_lzf_are_redis_own():
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    # "aaaaaaaaaa" as liblzf compresses it: a literal "a", then 9 bytes back by 1 (7 + 0 + 2).
    assert lzf_decompress(b"\x00a\xe0\x00\x00", 10) == b"a" * 10
    assert lzf_decompress(b"\x05ab", 6) is None  # the literal run is cut short


# ------------------------------------------------------------------ against redis-server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_call(sock, *args):
    sock.sendall(encode_command([a if isinstance(a, bytes) else a.encode() for a in args]))
    reader = hiredis.Reader(notEnoughData=Ellipsis)
    while True:
        reader.feed(sock.recv(65536))
        reply = reader.gets()
        if reply is not Ellipsis:
            return reply


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_function_dumps_travel_both_ways_between_redis_server_and_us():
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)
        with sock:
            long_lib = LIB + " -- " + "padding " * 20  # long enough for redis-server to compress it
            assert redis_call(sock, "FUNCTION", "LOAD", long_lib) == b"mylib"
            theirs = redis_call(sock, "FUNCTION", "DUMP")
            assert theirs[1] == 0xC3  # the code LZF-compressed (an RDB_ENC_LZF string)
            s = Store()
            assert run(s, "FUNCTION", "RESTORE", theirs) == OK and s.libraries == {"mylib": long_lib.encode()}
            assert run(s, "FCALL", "setter", "1", "k", "v") == OK
            other = "#!lua name=ours\nredis.register_function('ours', function() return 'from resp-kv' end)"
            run(s, "FUNCTION", "LOAD", other)
            ours = run(s, "FUNCTION", "DUMP")
            assert redis_call(sock, "FUNCTION", "RESTORE", ours, "FLUSH") == b"OK"
            assert redis_call(sock, "FCALL", "ours", "0") == b"from resp-kv"
            assert sorted(lib[1] for lib in redis_call(sock, "FUNCTION", "LIST")) == [b"mylib", b"ours"]
    finally:
        proc.kill()
        proc.wait()


def test_replies_encode_in_both_protocols():
    s = Store()
    reply = run(s, "EVAL", "redis.setresp(3) return {1.5, {double=2}, {map={a=true}}}", "0")
    assert encode(reply, resp3=False) == b"*3\r\n:1\r\n$1\r\n2\r\n*2\r\n$1\r\na\r\n:1\r\n"
    assert encode(reply, resp3=True) == b"*3\r\n:1\r\n,2\r\n%1\r\n$1\r\na\r\n#t\r\n"
