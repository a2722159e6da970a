"""The Lua environment of scripts and functions, as Redis 7.0 builds it (``script_lua.c``,
``eval.c``, ``function_lua.c``), on LuaJIT 2.1 (Lua 5.1 semantics) through lupa.

One :class:`LuaEngine` is one Lua state: the EVAL scripts' (``functions=False``) or the
libraries' (``functions=True``). The sandbox is built by :data:`SANDBOX` (Lua, below):

* The globals are Redis's list and nothing else (no os, io, require, loadfile, dofile, package,
  print, debug, jit, getfenv, setfenv, newproxy). Scripts see them through a read-only proxy:
  reading a missing global raises "Script attempted to access nonexistent global variable 'x'",
  assigning one "Attempt to modify a readonly table", as Redis 7's read-only tables do; so do
  the library tables (string, math, table, redis, cjson, ...), and rawset, setmetatable, next,
  pairs and rawget see through the proxies as if they were the tables themselves.
* redis.call / redis.pcall convert their arguments (numbers as ``%.17g``), run the command in
  the store (the host's ``script_command``) and convert the reply to Lua in the script's RESP
  version (``redis.setresp``); errors are Redis's tables ``{err="CODE message"}``, raised by
  redis.call. A script's reply is converted back to a store reply object (:meth:`reply`).
* Errors carry the user script's source and line (the error handler walks past our own Lua
  frames, which stand for Redis's C functions). LuaJIT replaces a frame on a tail call, which
  would lose the line of ``return redis.call(...)``: user code is compiled with its ``return``
  expressions wrapped in a call (:func:`keep_returns`), so the caller's frame stays.
* A count hook calls the host every ``HOOK_INSTRUCTIONS`` instructions (``interrupted``): a
  killed script (SCRIPT KILL) or a FUNCTION LOAD past its time raises Redis's error, again on
  every line after that so that pcall cannot swallow it.
* math.random is Redis's (its own lrand48, seeded by math.randomseed, the state kept by the
  host); cjson is lua-cjson 2.1's encoder and decoder rewritten in Lua (object keys come in
  LuaJIT's table order, which is not Lua 5.1's); cmsgpack and struct exist but refuse to work.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re

from lupa import luajit21

from ..protocol import NULL_ARRAY, BigNumber, Error, HumanDouble, OrderedSet, Pairs, Status, Verbatim

log = logging.getLogger("pbd.scripts")
lua_type = luajit21.lua_type

HOOK_INSTRUCTIONS = 10000  # how often a running script looks for SCRIPT KILL
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_NESTING = 400  # a reply nested deeper than this is refused (Redis: "reached lua stack limit")
LOG_LEVELS = (logging.DEBUG, logging.INFO, logging.INFO, logging.WARNING)  # redis.LOG_DEBUG .. LOG_WARNING
KEEP = b"__redis_keep__"

SANDBOX = rb'''
local mode, py = ...
local EVAL = mode == 'eval'
local type, tostring, tonumber, select, error, pcall, xpcall, unpack = type, tostring, tonumber, select, error, pcall, xpcall, unpack
local raw_rawget, raw_rawset, raw_next, raw_pairs = rawget, rawset, next, pairs
local raw_setmetatable, raw_getmetatable, raw_loadstring, raw_load, setfenv = setmetatable, getmetatable, loadstring, load, setfenv
local getinfo, sethook = debug.getinfo, debug.sethook
local floor, ceil, fmod = math.floor, math.ceil, math.fmod
local sbyte, ssub, sfind, sformat, smatch, slower, schar = string.byte, string.sub, string.find, string.format, string.match, string.lower, string.char
local tconcat = table.concat
local py_command, py_sha1hex, py_log, py_setresp, py_interrupted = py.command, py.sha1hex, py.log, py.setresp, py.interrupted
local py_lrand, py_srand, py_register, py_acl = py.lrand, py.srand, py.register, py.acl_check
local INTERNAL = '=resp-kv'
local READONLY = 'Attempt to modify a readonly table'
local KEEP = '__redis_keep__'
local HOOK_COUNT = py.hook_count

-- Redis's luaPushErrorBuff: "-CODE message" or "message" -> {err = "CODE message"}
local function error_table(s)
  local code, msg = 'ERR', s
  if sbyte(s, 1) == 45 then
    local space = sfind(s, ' ', 1, true)
    if space then code, msg = ssub(s, 2, space - 1), ssub(s, space + 1) else msg = ssub(s, 2) end
  end
  msg = smatch(msg, '^[\r\n]*(.-)[\r\n]*$')
  return {err = code .. ' ' .. msg}
end

local function raise(msg) error(error_table(msg)) end

local function to_int(x)  -- C's (int) of a lua_Number
  if x ~= x or x >= 2147483648 or x < -2147483648 then return -2147483648 end
  if x >= 0 then return floor(x) end
  return ceil(x)
end

local function pack(...) return {n = select('#', ...), ...} end
local function keep(...) return ... end

-- ------------------------------------------------------------------ errors and the hook

local function handler(err)  -- Redis's __redis__err__handler
  sethook()
  local level = 2
  local info = getinfo(level, 'Sl')
  if info and info.what == 'C' then level = level + 1; info = getinfo(level, 'Sl') end
  while info and info.source == INTERNAL do level = level + 1; info = getinfo(level, 'Sl') end
  if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end
  if info then err['source'] = info.source; err['line'] = info.currentline end
  return err
end

local stop_hook
local function count_hook()
  local why = py_interrupted()
  if why then
    sethook(stop_hook, 'l')
    raise(why)
  end
end
stop_hook = count_hook

-- ------------------------------------------------------------------ read-only tables

local real_of = raw_setmetatable({}, {__mode = 'k'})
local shown_meta = raw_setmetatable({}, {__mode = 'k'})
local function readonly() error(READONLY, 2) end

local function protect(real)
  local proxy = raw_setmetatable({}, {__index = real, __newindex = readonly})
  real_of[proxy] = real
  return proxy
end

local function missing(k)
  local kind = type(k)
  if kind ~= 'string' and kind ~= 'number' then
    return 'Second argument to luaProtectedTableError must be a string or number'
  end
  return "Script attempted to access nonexistent global variable '" .. k .. "'"
end

local function strict(real)  -- a read-only table whose missing keys raise (the library API)
  local proxy = raw_setmetatable({}, {
    __index = function(_, k) local v = raw_rawget(real, k) if v == nil then error(missing(k), 2) end return v end,
    __newindex = readonly})
  real_of[proxy] = real
  return proxy
end

-- ------------------------------------------------------------------ the redis API

local function call(...)
  local failed, v = py_command(...)
  if failed then error(v) end
  return v
end

local function pcall_command(...)
  local failed, v = py_command(...)
  return v
end

local function sha1hex(...)
  if select('#', ...) ~= 1 then raise('wrong number of arguments') end
  local s = ...
  local kind = type(s)
  if kind == 'number' then s = tostring(s) elseif kind ~= 'string' then s = '' end
  return py_sha1hex(s)
end

local function error_reply(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then return error_table('wrong number or type of arguments') end
  if sbyte(s, 1) ~= 45 then s = '-' .. s end
  return error_table(s)
end

local function status_reply(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then return error_table('wrong number or type of arguments') end
  return {ok = s}
end

local function redis_log(...)
  local argc = select('#', ...)
  if argc < 2 then raise('redis.log() requires two arguments or more.') end
  local level = tonumber((...))
  if level == nil then raise('First argument must be a number (log level).') end
  level = to_int(level)
  if level < 0 or level > 3 then raise('Invalid debug level.') end
  local parts = {}
  for j = 2, argc do
    local v = select(j, ...)
    local kind = type(v)
    if kind == 'string' or kind == 'number' then parts[#parts + 1] = tostring(v) end
  end
  py_log(level, tconcat(parts, ' '))
end

local function setresp(...)
  if select('#', ...) ~= 1 then raise('redis.setresp() requires one argument.') end
  local resp = to_int(tonumber((...)) or 0)
  if resp ~= 2 and resp ~= 3 then raise('RESP version must be 2 or 3.') end
  py_setresp(resp)
end

local function set_repl(...)
  if select('#', ...) ~= 1 then raise('redis.set_repl() requires two arguments.') end
  local flags = to_int(tonumber((...)) or 0)
  if flags < 0 or flags > 3 then raise('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.') end
end

local function acl_check_cmd(...)
  local failed, v = py_acl(...)
  if failed then error(v) end
  return v
end

local function api_constants(t)
  t.LOG_DEBUG, t.LOG_VERBOSE, t.LOG_NOTICE, t.LOG_WARNING = 0, 1, 2, 3
  t.REDIS_VERSION, t.REDIS_VERSION_NUM = '7.0.15', 458767
  t.log = redis_log
  return t
end

local R = api_constants({call = call, pcall = pcall_command, setresp = setresp, sha1hex = sha1hex,
  error_reply = error_reply, status_reply = status_reply, set_repl = set_repl, acl_check_cmd = acl_check_cmd,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3})
if EVAL then
  R.breakpoint = function() return false end
  R.debug = function() end
  R.replicate_commands = function() return true end
end

-- ------------------------------------------------------------------ math.random (Redis's)

local function checkint(n, name, argc, ...)  -- luaL_checkint: (int) of the (long) of the number
  local v = select(n, ...)
  local x = tonumber(v)
  if x == nil then
    local got = n > argc and 'no value' or type(v)
    error(sformat("bad argument #%d to '%s' (number expected, got %s)", n, name, got), 3)
  end
  if x ~= x or x >= 2^63 or x < -2^63 then return 0 end
  local low = fmod(x >= 0 and floor(x) or ceil(x), 4294967296)
  if low < 0 then low = low + 4294967296 end
  if low >= 2147483648 then low = low - 4294967296 end
  return low
end

local function random(...)
  local r = (py_lrand() % 2147483647) / 2147483647
  local argc = select('#', ...)
  if argc == 0 then return r end
  if argc == 1 then
    local u = checkint(1, 'random', argc, ...)
    if not (1 <= u) then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return floor(r * u) + 1
  end
  if argc == 2 then
    local l, u = checkint(1, 'random', argc, ...), checkint(2, 'random', argc, ...)
    if not (l <= u) then error("bad argument #2 to 'random' (interval is empty)", 2) end
    return floor(r * (u - l + 1)) + l
  end
  error('wrong number of arguments', 2)
end

local function randomseed(...)
  py_srand(checkint(1, 'randomseed', select('#', ...), ...))
end

-- ------------------------------------------------------------------ cjson (lua-cjson 2.1.0's rules)

local json_null = newproxy(false)
local escapes = {['"'] = '\\"', ['\\'] = '\\\\', ['/'] = '\\/', ['\b'] = '\\b', ['\t'] = '\\t',
                 ['\n'] = '\\n', ['\f'] = '\\f', ['\r'] = '\\r', ['\127'] = '\\u007f'}
for i = 0, 31 do local c = schar(i) if not escapes[c] then escapes[c] = sformat('\\u%04x', i) end end

local function json_string(s)
  return '"' .. s:gsub('[%z\1-\31"\\/\127]', escapes) .. '"'
end

local function json_number(x, what)
  if x ~= x or x == 1/0 or x == -1/0 then error('Cannot serialise ' .. what .. ': must not be NaN or Inf', 0) end
  return sformat('%.14g', x)
end

local function json_array_length(t)
  local max, items = 0, 0
  for k in raw_next, t do
    if type(k) ~= 'number' or k < 1 or floor(k) ~= k then return -1 end
    if k > max then max = k end
    items = items + 1
  end
  if max > items * 2 and max > 10 then error('Cannot serialise table: excessively sparse array', 0) end
  return max
end

local json_value
local function json_table(t, depth, out)
  depth = depth + 1
  if depth > 1000 then error(sformat('Cannot serialise, excessive nesting (%d)', depth), 0) end
  local n = json_array_length(t)
  if n > 0 then
    out[#out + 1] = '['
    for i = 1, n do
      if i > 1 then out[#out + 1] = ',' end
      json_value(raw_rawget(t, i), depth, out)
    end
    out[#out + 1] = ']'
    return
  end
  out[#out + 1] = '{'
  local comma = false
  for k, v in raw_next, t do
    if comma then out[#out + 1] = ',' end
    comma = true
    local kind = type(k)
    if kind == 'number' then out[#out + 1] = '"' .. json_number(k, 'number') .. '":'
    elseif kind == 'string' then out[#out + 1] = json_string(k) .. ':'
    else error('Cannot serialise ' .. kind .. ': table key must be a number or string', 0) end
    json_value(v, depth, out)
  end
  out[#out + 1] = '}'
end

json_value = function(v, depth, out)
  local kind = type(v)
  if kind == 'string' then out[#out + 1] = json_string(v)
  elseif kind == 'number' then out[#out + 1] = json_number(v, 'number')
  elseif kind == 'boolean' then out[#out + 1] = v and 'true' or 'false'
  elseif kind == 'table' then json_table(v, depth, out)
  elseif kind == 'nil' or v == json_null then out[#out + 1] = 'null'
  else error('Cannot serialise ' .. kind .. ': type not supported', 0) end
end

local function json_encode(...)
  if select('#', ...) ~= 1 then error("bad argument #1 to 'encode' (expected 1 argument)", 2) end
  local out = {}
  local ok, err = pcall(json_value, (...), 0, out)
  if not ok then error(err, 2) end
  return tconcat(out)
end

-- The decoder: lua-cjson's tokens and messages ("Expected value but found T_END at character 4").
local T_NAMES = {['{'] = 'T_OBJ_BEGIN', ['}'] = 'T_OBJ_END', ['['] = 'T_ARR_BEGIN', [']'] = 'T_ARR_END',
                 [','] = 'T_COMMA', [':'] = 'T_COLON'}
local UNESCAPE = {['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', t = '\t', n = '\n', f = '\f', r = '\r'}

local function utf8_char(cp)
  if cp <= 0x7F then return schar(cp) end
  if cp <= 0x7FF then return schar(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
  if cp <= 0xFFFF then return schar(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64) end
  return schar(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

local function strtod(s, pos)  -- the number C's strtod reads at pos: value, next position
  local p, negative = pos, false
  local c = ssub(s, p, p)
  if c == '+' or c == '-' then negative = c == '-'; p = p + 1 end
  local hex = smatch(s, '^0[xX](%x+)', p)
  if hex then
    local v = tonumber(hex, 16)
    return negative and -v or v, p + 2 + #hex
  end
  local word = slower(ssub(s, p, p + 7))
  local sign = negative and -1 or 1
  if word == 'infinity' then return sign / 0, p + 8 end
  if ssub(word, 1, 3) == 'inf' then return sign / 0, p + 3 end
  if ssub(word, 1, 3) == 'nan' then return 0 / 0, p + 3 end
  local num = smatch(s, '^%d*%.?%d*', p)
  if not sfind(num, '%d') then return nil, pos end
  local exponent = smatch(s, '^[eE][+-]?%d+', p + #num)
  if exponent then num = num .. exponent end
  local v = tonumber(num)
  return negative and -v or v, p + #num
end

local function json_decode(...)
  if select('#', ...) ~= 1 then error("bad argument #1 to 'decode' (expected 1 argument)", 2) end
  local s = ...
  if type(s) == 'number' then s = tostring(s) end
  if type(s) ~= 'string' then
    error(sformat("bad argument #1 to 'decode' (string expected, got %s)", type(s)), 2)
  end
  local zero = sfind(s, '\0', 1, true)
  if #s >= 2 and (zero == 1 or zero == 2) then error('JSON parser does not support UTF-16 or UTF-32', 2) end
  if zero then s = ssub(s, 1, zero - 1) end  -- a C string ends at its first NUL
  local pos, depth = 1, 0
  local function fail(expected, found, at) error(sformat('Expected %s but found %s at character %d', expected, found, at), 0) end
  local function token()  -- kind, value, position
    pos = sfind(s, '[^ \t\n\r]', pos) or #s + 1
    local at = pos
    local c = ssub(s, pos, pos)
    if c == '' then return 'T_END', nil, at end
    if T_NAMES[c] then pos = pos + 1 return T_NAMES[c], nil, at end
    if c == '"' then
      local parts, i = {}, pos + 1
      while true do
        local j = sfind(s, '["\\]', i)
        if not j then pos = #s + 1 return 'T_ERROR', 'unexpected end of string', pos end
        parts[#parts + 1] = ssub(s, i, j - 1)
        if sbyte(s, j) == 34 then pos = j + 1 return 'T_STRING', tconcat(parts), at end
        local e = ssub(s, j + 1, j + 1)
        if e == 'u' then
          local cp = tonumber(smatch(s, '^%x%x%x%x', j + 2) or '', 16)
          local used = 6
          if cp and cp >= 0xD800 and cp <= 0xDFFF then
            local low = smatch(s, '^\\u(%x%x%x%x)', j + 6)
            low = low and tonumber(low, 16)
            if cp >= 0xDC00 or not low or low < 0xDC00 or low > 0xDFFF then cp = nil
            else cp = (cp - 0xD800) * 1024 + (low - 0xDC00) + 0x10000; used = 12 end
          end
          if not cp then pos = j return 'T_ERROR', 'invalid unicode escape code', j end
          parts[#parts + 1] = utf8_char(cp)
          i = j + used
        elseif UNESCAPE[e] then parts[#parts + 1] = UNESCAPE[e]; i = j + 2
        else pos = j return 'T_ERROR', 'invalid escape code', j end
      end
    end
    if ssub(s, pos, pos + 3) == 'null' then pos = pos + 4 return 'T_NULL', json_null, at end
    local word = slower(ssub(s, pos, pos + 2))
    if sfind(c, '[%-%d+]') or word == 'inf' or word == 'nan' then
      local value, after = strtod(s, pos)
      if value == nil then return 'T_ERROR', 'invalid number', at end
      pos = after
      return 'T_NUMBER', value, at
    end
    if ssub(s, pos, pos + 3) == 'true' then pos = pos + 4 return 'T_BOOLEAN', true, at end
    if ssub(s, pos, pos + 4) == 'false' then pos = pos + 5 return 'T_BOOLEAN', false, at end
    return 'T_ERROR', 'invalid token', at
  end
  local value
  local function descend(at)
    depth = depth + 1
    if depth > 1000 then error(sformat('Found too many nested data structures (%d) at character %d', depth, at), 0) end
  end
  value = function(kind, v, at)
    if kind == 'T_STRING' or kind == 'T_NUMBER' or kind == 'T_BOOLEAN' or kind == 'T_NULL' then return v end
    if kind == 'T_OBJ_BEGIN' then
      descend(pos - 1)
      local t = {}
      local k, kv, kat = token()
      if k == 'T_OBJ_END' then depth = depth - 1 return t end
      while true do
        if k ~= 'T_STRING' then fail('object key string', k == 'T_ERROR' and kv or k, kat) end
        local c, cv, cat = token()
        if c ~= 'T_COLON' then fail('colon', c == 'T_ERROR' and cv or c, cat) end
        raw_rawset(t, kv, value(token()))
        local e, ev, eat = token()
        if e == 'T_OBJ_END' then depth = depth - 1 return t end
        if e ~= 'T_COMMA' then fail('comma or object end', e == 'T_ERROR' and ev or e, eat) end
        k, kv, kat = token()
      end
    end
    if kind == 'T_ARR_BEGIN' then
      descend(pos - 1)
      local t, i = {}, 1
      local a, av, aat = token()
      if a == 'T_ARR_END' then depth = depth - 1 return t end
      while true do
        raw_rawset(t, i, value(a, av, aat))
        i = i + 1
        local e, ev, eat = token()
        if e == 'T_ARR_END' then depth = depth - 1 return t end
        if e ~= 'T_COMMA' then fail('comma or array end', e == 'T_ERROR' and ev or e, eat) end
        a, av, aat = token()
      end
    end
    fail('value', kind == 'T_ERROR' and v or kind, at)
  end
  local ok, result = pcall(function()
    local r = value(token())
    local kind, v, at = token()
    if kind ~= 'T_END' then fail('the end', kind == 'T_ERROR' and v or kind, at) end
    return r
  end)
  if not ok then error(result, 2) end
  return result
end

local cjson = {encode = json_encode, decode = json_decode, null = json_null, _NAME = 'cjson', _VERSION = '2.1.0'}
for _, name in raw_pairs({'encode_sparse_array', 'encode_max_depth', 'decode_max_depth', 'encode_number_precision',
                          'encode_keep_buffer', 'encode_invalid_numbers', 'decode_invalid_numbers', 'new'}) do
  cjson[name] = function() error("cjson." .. name .. " is not supported by resp-kv", 2) end
end

local function unsupported(library, names)
  local t = {}
  for _, name in raw_pairs(names) do
    t[name] = function() error(library .. '.' .. name .. ' is not supported by resp-kv', 2) end
  end
  return t
end
local cmsgpack = unsupported('cmsgpack', {'pack', 'unpack', 'unpack_one', 'unpack_limit'})
cmsgpack._NAME, cmsgpack._VERSION = 'cmsgpack', 'lua-cmsgpack 0.4.0'
cmsgpack._COPYRIGHT = 'Copyright (C) 2012, Salvatore Sanfilippo'
cmsgpack._DESCRIPTION = 'MessagePack C implementation for Lua'
local struct = unsupported('struct', {'pack', 'unpack', 'size'})

-- ------------------------------------------------------------------ the globals

local G = {}   -- what the scripts' globals hold
local LIB = {} -- what a library's code sees while FUNCTION LOAD runs it
local loading = false
local P = {}   -- the scripts' globals: a read-only view of G (of LIB while loading)
raw_setmetatable(P, {
  __index = function(_, k)
    if k == KEEP then return keep end
    local v = raw_rawget(loading and LIB or G, k)
    if v == nil then error(missing(k), 2) end
    return v
  end,
  __newindex = readonly})
real_of[P] = G
shown_meta[P] = protect({__index = missing})

local function compile(code, name)
  local f, err = raw_loadstring(code, name, 't')
  if not f then return nil, err end
  setfenv(f, P)
  return f
end

local math_lib = {}
for k, v in raw_pairs(math) do math_lib[k] = v end
math_lib.random, math_lib.randomseed = random, randomseed
local raw_rep = string.rep
string.rep = function(...)  -- Lua 5.1's: no separator
  if select('#', ...) > 2 then local s, n = ... return raw_rep(s, n) end
  return raw_rep(...)
end
local raw_format = string.format
local function format_error(n, message)  -- luaL_argerror, as string.format's caller sees it
  local info = getinfo(2, 'n')
  if info and info.namewhat == 'method' then n = n - 1 end
  error(sformat("bad argument #%d to '%s' (%s)", n, info and info.name or '?', message), 3)
end
string.format = function(...)  -- Lua 5.1's checks: %s takes strings and numbers only, no missing value
  local fmt, argc = ..., select('#', ...)
  if type(fmt) == 'string' and sfind(fmt, '%', 1, true) then
    local n = 1
    for spec in string.gmatch(fmt, '%%[-+ #0]*%d*%.?%d*(.)') do
      if spec ~= '%' then
        n = n + 1
        if n > argc then format_error(n, 'no value') end
        local kind = type((select(n, ...)))
        if spec == 's' and kind ~= 'string' and kind ~= 'number' then
          format_error(n, 'string expected, got ' .. kind)
        end
      end
    end
  end
  return raw_format(...)
end
local string_proxy = protect(string)
raw_getmetatable('').__index = string_proxy

local function sandbox_pcall(...)
  local r = pack(pcall(...))
  if not r[1] then
    local e = r[2]
    if type(e) == 'table' then
      local m = e.err
      if type(m) == 'string' or type(m) == 'number' then r[2] = m end
    end
  end
  return unpack(r, 1, r.n)
end

local globals = {
  _G = P, _VERSION = _VERSION, assert = assert, collectgarbage = collectgarbage, error = error, gcinfo = gcinfo,
  ipairs = ipairs, select = select, tonumber = tonumber, tostring = tostring, type = type, unpack = unpack,
  xpcall = xpcall, rawequal = rawequal, pcall = sandbox_pcall,
  rawget = function(t, k) local r = real_of[t] if r then t = r end return raw_rawget(t, k) end,
  rawset = function(t, k, v) if real_of[t] then error(READONLY, 0) end return raw_rawset(t, k, v) end,
  next = function(t, k) local r = real_of[t] if r then t = r end return raw_next(t, k) end,
  pairs = function(t) local r = real_of[t] if r then return raw_next, r, nil end return raw_pairs(t) end,
  setmetatable = function(t, m) if real_of[t] then error(READONLY, 0) end return raw_setmetatable(t, m) end,
  getmetatable = function(t) if real_of[t] then return shown_meta[t] end return raw_getmetatable(t) end,
  loadstring = function(s, name)
    if type(s) ~= 'string' and type(s) ~= 'number' then return raw_loadstring(s, name) end
    local f, err = raw_loadstring(s, name, 't')
    if f then setfenv(f, P) end
    return f, err
  end,
  load = function(reader, name)
    local kind = type(reader)
    if kind ~= 'function' and kind ~= 'string' then return raw_load(reader, name) end
    local f, err = raw_load(reader, name, 't')
    if f then setfenv(f, P) end
    return f, err
  end,
  string = string_proxy, table = protect(table), math = protect(math_lib), coroutine = protect(coroutine),
  bit = protect(bit), cjson = protect(cjson), cmsgpack = protect(cmsgpack), struct = protect(struct),
  redis = protect(R),
}
for k, v in raw_pairs(globals) do G[k] = v end
if EVAL then G.__redis__err__handler = handler end

-- ------------------------------------------------------------------ FUNCTION LOAD

local function read_flags(t)
  local flags, j = {}, 1
  while true do
    local f = t[j]
    if f == nil then return flags end
    if type(f) ~= 'string' and type(f) ~= 'number' then return nil end
    f = slower(tostring(f))
    if f ~= 'no-writes' and f ~= 'allow-oom' and f ~= 'allow-stale' and f ~= 'no-cluster' and f ~= 'allow-cross-slot-keys' then
      return nil
    end
    flags[#flags + 1] = f
    j = j + 1
  end
end

local function register_named(t)
  if type(t) ~= 'table' then
    raise('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
  end
  local name, desc, callback, flags
  for k, v in raw_next, t do
    if type(k) ~= 'string' and type(k) ~= 'number' then raise('named argument key given to redis.register_function is not a string') end
    local key = slower(tostring(k))
    if key == 'function_name' then
      if type(v) ~= 'string' and type(v) ~= 'number' then raise('function_name argument given to redis.register_function must be a string') end
      name = tostring(v)
    elseif key == 'description' then
      if type(v) ~= 'string' and type(v) ~= 'number' then raise('description argument given to redis.register_function must be a string') end
      desc = tostring(v)
    elseif key == 'callback' then
      if type(v) ~= 'function' then raise('callback argument given to redis.register_function must be a function') end
      callback = v
    elseif key == 'flags' then
      if type(v) ~= 'table' then raise('flags argument to redis.register_function must be a table representing function flags') end
      flags = read_flags(v)
      if not flags then raise('unknown flag given') end
    else
      raise('unknown argument given to redis.register_function')
    end
  end
  if not name then raise('redis.register_function must get a function name argument') end
  if not callback then raise('redis.register_function must get a callback argument') end
  return name, callback, desc, flags
end

local function register_function(...)
  local argc = select('#', ...)
  if argc < 1 or argc > 2 then raise('wrong number of arguments to redis.register_function') end
  local name, callback, desc, flags
  if argc == 1 then
    name, callback, desc, flags = register_named((...))
  else
    name, callback = ...
    if type(name) ~= 'string' and type(name) ~= 'number' then raise('first argument to redis.register_function must be a string') end
    if type(callback) ~= 'function' then raise('second argument to redis.register_function must be a function') end
    name = tostring(name)
  end
  local failed, err = py_register(name, callback, desc, flags and tconcat(flags, ',') or '')
  if failed then error(err) end
end

LIB.redis = strict(api_constants({register_function = register_function}))

-- ------------------------------------------------------------------ what Python calls

local function classify(t)  -- luaReplyToRedisReply's reading of a table
  local v = raw_rawget(t, 'err')
  if type(v) == 'string' then return 'err', v end
  v = raw_rawget(t, 'ok')
  if type(v) == 'string' then return 'ok', v end
  v = raw_rawget(t, 'double')
  if type(v) == 'number' then return 'double', v, v == 0 and 1 / v < 0 end  -- (lupa makes -0 an int 0)
  v = raw_rawget(t, 'big_number')
  if type(v) == 'string' then return 'big_number', v end
  v = raw_rawget(t, 'verbatim_string')
  if type(v) == 'table' then
    local format, s = raw_rawget(v, 'format'), raw_rawget(v, 'string')
    if type(format) == 'string' and type(s) == 'string' then return 'verbatim', format, s end
  end
  v = raw_rawget(t, 'map')
  if type(v) == 'table' then
    local flat, n = {}, 0
    for k, x in raw_next, v do flat[n + 1] = k; flat[n + 2] = x; n = n + 2 end
    return 'map', flat, n
  end
  v = raw_rawget(t, 'set')
  if type(v) == 'table' then
    local keys, n = {}, 0
    for k in raw_next, v do n = n + 1; keys[n] = k end
    return 'set', keys, n
  end
  local n = 0
  while raw_rawget(t, n + 1) ~= nil do n = n + 1 end
  return 'array', t, n
end

local function run(f, keys, args)
  sethook(count_hook, '', HOOK_COUNT)
  local ok, result
  if EVAL then
    raw_rawset(G, 'KEYS', keys)
    raw_rawset(G, 'ARGV', args)
    ok, result = xpcall(f, handler)
  else
    ok, result = xpcall(f, handler, keys, args)
  end
  sethook()
  return ok, result
end

local function load_library(f)
  loading = true
  sethook(count_hook, '', HOOK_COUNT)
  local ok, err = xpcall(f, function(e) sethook() return e end)  -- (no line hook after it)
  sethook()
  loading = false
  if ok then return nil end
  if type(err) ~= 'table' then return 'ERR ' .. tostring(err) end
  local m = err.err
  if type(m) == 'string' or type(m) == 'number' then return tostring(m) end
  return 'ERR unknown error'
end

local function fields(t)  -- luaExtractErrorInformation
  local m, source, line = t.err, t.source, t.line
  local function text(x) if type(x) == 'string' or type(x) == 'number' then return tostring(x) end end
  return text(m), text(source), text(line)
end

return {compile = compile, run = run, classify = classify, load_library = load_library, fields = fields,
        error_table = error_table}
'''

# --------------------------------------------------------------------------- keeping frames


_LONG_BRACKET = re.compile(rb"\[(=*)\[")
_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(rb"[0-9.]+(?:[eE][+-]?)?[0-9A-Za-z_.]*")
_SPACE = re.compile(rb"[ \t\r\n\v\f]+")
_OPERATORS = (b"...", b"..", b"==", b"~=", b"<=", b">=")
_EXPLIST_ENDS = (b"end", b"else", b"elseif", b"until")
_BLOCK_OPENERS = (b"function", b"if", b"do", b"repeat")


def _tokens(code: bytes):
    """Lua 5.1 tokens as (kind, text, start, end): 'name', 'op', 'string' or 'number' (comments
    and spaces skipped). Only good enough for valid code, which is all it is given."""
    i, n = 0, len(code)
    while i < n:
        m = _SPACE.match(code, i)
        if m:
            i = m.end()
            continue
        c = code[i]
        if code.startswith(b"--", i):
            long = _LONG_BRACKET.match(code, i + 2)
            if long:
                close = code.find(b"]" + long.group(1) + b"]", long.end())
                i = n if close < 0 else close + len(long.group(1)) + 2
            else:
                newline = code.find(b"\n", i)
                i = n if newline < 0 else newline + 1
            continue
        if c == 0x5B:  # '[': a long string, or an index
            long = _LONG_BRACKET.match(code, i)
            if long:
                close = code.find(b"]" + long.group(1) + b"]", long.end())
                end = n if close < 0 else close + len(long.group(1)) + 2
                yield "string", b"", i, end
                i = end
                continue
        if c in b"'\"":
            j = i + 1
            while j < n and code[j] != c:
                j += 2 if code[j] == 0x5C else 1
            yield "string", b"", i, j + 1
            i = j + 1
            continue
        m = _NAME.match(code, i)
        if m:
            yield "name", m.group(), i, m.end()
            i = m.end()
            continue
        if 0x30 <= c <= 0x39 or (c == 0x2E and code[i + 1 : i + 2].isdigit()):
            m = _NUMBER.match(code, i)
            yield "number", m.group(), i, m.end()
            i = m.end()
            continue
        op = next((o for o in _OPERATORS if code.startswith(o, i)), code[i : i + 1])
        yield "op", op, i, i + len(op)
        i += len(op)


def keep_returns(code: bytes) -> bytes:
    """``code`` with each ``return <explist>`` made ``return __redis_keep__(<explist>)``: the
    same values, but no tail call (so an error's line is the caller's, as in Redis's Lua 5.1,
    where C functions are never tail-called). Line numbers are unchanged."""
    if b"return" not in code:
        return code
    tokens = list(_tokens(code))
    inserts = []
    for index, (kind, text, _, _) in enumerate(tokens):
        if kind != "name" or text != b"return":
            continue
        first = index + 1
        if first >= len(tokens) or tokens[first][1] in _EXPLIST_ENDS or tokens[first][1] == b";":
            continue
        last = _explist_end(tokens, first)
        inserts.append((tokens[first][2], b"__redis_keep__("))
        inserts.append((tokens[last][3], b")"))
    out = bytearray(code)
    for position, text in sorted(inserts, key=lambda item: item[0], reverse=True):
        out[position:position] = text
    return bytes(out)


def _explist_end(tokens, first: int) -> int:
    """The index of the last token of the expression list starting at ``first``."""
    brackets = blocks = 0
    last = first
    for index in range(first, len(tokens)):
        kind, text = tokens[index][0], tokens[index][1]
        if kind == "op":
            if text in (b"(", b"[", b"{"):
                brackets += 1
            elif text in (b")", b"]", b"}"):
                brackets -= 1
            elif text == b";" and brackets == 0 and blocks == 0:
                break
        elif kind == "name":
            if text in _BLOCK_OPENERS:
                blocks += 1
            elif text in (b"end", b"until"):
                if blocks == 0:
                    break
                blocks -= 1
            elif text in (b"else", b"elseif") and blocks == 0:
                break
        last = index
    return last


# --------------------------------------------------------------------------- the engine


def long_long(number) -> int:
    """C's ``(long long)`` of a Lua number (x86-64: out of range and NaN give the minimum)."""
    if number.__class__ is int:
        return number if INT64_MIN <= number <= INT64_MAX else INT64_MIN
    if math.isnan(number) or math.isinf(number):
        return INT64_MIN
    value = int(number)
    return value if INT64_MIN <= value <= INT64_MAX else INT64_MIN


def lua_number_text(number) -> bytes:
    """``lua_tostring`` of a number: ``%.14g``."""
    return b"%.14g" % number


def formatted_error(text: str) -> Error:
    """An error as Redis's addReplyErrorFormat sends it: without CR/LF at its end (it trims the
    "-" it starts with too; those inside become spaces as any error is encoded)."""
    return Error(text.rstrip("\r\n"))


def error_text(text: str) -> bytes:
    """An error reply's text as Redis hands it to Lua (luaPushErrorBuff of "-" + text): a code,
    a space and the message, without CR/LF at either end."""
    raw = text.encode("utf-8", "surrogateescape")
    code, space, message = raw.partition(b" ")
    if not space:
        code, message = b"ERR", raw
    return code + b" " + message.strip(b"\r\n")


class LuaEngine:
    """One sandboxed Lua state. ``host`` provides ``script_command(argv)`` (a reply, or the
    Error of a refused call), ``script_acl_check(argv)``, ``lrand48()``, ``srand48(seed)`` and
    ``register_function(name, fn, description, flags)`` (FUNCTION LOAD); ``run`` is the ScriptRun
    being run (its ``resp``, ``killed``), ``load_deadline`` the monotonic time a FUNCTION LOAD
    must end by (None: none)."""

    def __init__(self, host, functions: bool = False):
        self.host = host
        self.run = None
        self.load_deadline = None
        self.clock = None  # time.monotonic, set with load_deadline
        lua = self.lua = luajit21.LuaRuntime(encoding=None, register_eval=False, register_builtins=False,
                                             unpack_returned_tuples=True)
        lua.execute(b"jit.off()")
        callbacks = lua.table_from({
            b"command": self._command, b"sha1hex": self._sha1hex, b"log": self._log, b"setresp": self._setresp,
            b"interrupted": self._interrupted, b"lrand": host.lrand48, b"srand": host.srand48,
            b"register": self._register, b"acl_check": self._acl_check, b"hook_count": HOOK_INSTRUCTIONS,
        })
        setup = lua.eval(b"loadstring")(SANDBOX, b"=resp-kv")
        api = setup(b"function" if functions else b"eval", callbacks)
        self._compile, self._run, self._classify = api[b"compile"], api[b"run"], api[b"classify"]
        self._load_library, self._fields = api[b"load_library"], api[b"fields"]
        self.table_from = lua.table_from

    # ------------------------------------------------------------------ compiling and running

    def compile(self, code: bytes, chunkname: bytes):
        """(function, None), or (None, the compiler's message)."""
        result = self._compile(code, chunkname)
        fn, err = result if result.__class__ is tuple else (result, None)
        if fn is None:
            return None, err
        kept = keep_returns(code)
        if kept != code:
            again = self._compile(kept, chunkname)
            again = again[0] if again.__class__ is tuple else again
            if again is not None:
                fn = again
        return fn, None

    def call(self, fn, keys: list[bytes], args: list[bytes]):
        """Run a script (keys and args: KEYS and ARGV, or the function's two tables): (True, the
        Lua result) or (False, the error object)."""
        result = self._run(fn, self.table_from(keys), self.table_from(args))
        return result if result.__class__ is tuple else (result, None)

    def load_library(self, fn) -> bytes | None:
        """Run a library's code (it registers its functions): None, or the error's message."""
        return self._load_library(fn)

    def error_reply(self, err, name: str) -> Error:
        """A script's failure as the reply Redis makes of it."""
        if lua_type(err) != "table":
            text = err.decode("utf-8", "surrogateescape") if err.__class__ is bytes else "execution failure"
            return formatted_error(f"ERR Error running script {name}, {text[:100]}\n")
        message, source, line = self._fields(err)
        text = "-" + (message.decode("utf-8", "surrogateescape") if message is not None else "(null)")
        if source is not None and line is not None:
            text += f" script: {name}, on {source.decode('utf-8', 'surrogateescape')}:{line.decode()}."
        return Error(text[1:])

    # ------------------------------------------------------------------ Lua -> reply

    def reply(self, value, resp: int, depth: int = 0):
        """A script's result as a reply object (luaReplyToRedisReply), ``resp`` the script's
        protocol (redis.setresp)."""
        cls = value.__class__
        if cls is bytes:
            return value
        if cls is bool:
            return value if resp == 3 else (1 if value else None)
        if cls is int or cls is float:
            return long_long(value)
        if value is None or lua_type(value) != "table":
            return None
        if depth > MAX_NESTING:
            return Error("ERR reached lua stack limit")
        return self._table_reply(value, resp, depth + 1)

    def _table_reply(self, table, resp: int, depth: int):
        info = self._classify(table)
        kind = info[0]
        if kind == b"array":
            reply = self.reply
            return [reply(table[i], resp, depth) for i in range(1, info[2] + 1)]
        if kind == b"err":
            return formatted_error(info[1].decode("utf-8", "surrogateescape"))
        if kind == b"ok":
            return Status(info[1].replace(b"\r", b" ").replace(b"\n", b" ").decode("utf-8", "replace"))
        if kind == b"double":
            return -0.0 if info[2] else float(info[1])
        if kind == b"big_number":
            text = info[1].replace(b"\r", b" ").replace(b"\n", b" ")
            return BigNumber(text)
        if kind == b"verbatim":
            fmt = (info[1][:3] + b"   ")[:3]
            return Verbatim(fmt + b":" + info[2])
        items = info[1]
        if kind == b"map":
            out = {}
            for i in range(1, info[2] + 1, 2):
                out[_hashable(self.reply(items[i], resp, depth))] = self.reply(items[i + 1], resp, depth)
            return out
        return {_hashable(self.reply(items[i], resp, depth)) for i in range(1, info[2] + 1)}

    # ------------------------------------------------------------------ reply -> Lua

    def lua_value(self, reply, resp3: bool):
        """A command's reply as redis.call returns it to the script (redisProtocolToLuaType)."""
        value = _plain(reply, resp3)
        if value.__class__ is list or value.__class__ is dict:
            return self.table_from(value, recursive=True)
        return value

    def error_table(self, text: bytes, stats_flag: bool = True):
        """Redis's error table ``{err = text}`` (already "CODE message")."""
        table = {b"err": text}
        if stats_flag:
            table[b"ignore_error_stats_update"] = True
        return self.table_from(table)

    # ------------------------------------------------------------------ callbacks from Lua

    def _command(self, *args):
        """redis.call / redis.pcall: (failed, the Lua value)."""
        argv = _argv(args)
        if argv.__class__ is bytes:
            return True, self.error_table(argv, stats_flag=False)
        reply = self.host.script_command(argv)
        if reply.__class__ is Error:
            return True, self.error_table(error_text(reply))
        return False, self.lua_value(reply, self.run.resp == 3)

    def _acl_check(self, *args):
        argv = _argv(args)
        if argv.__class__ is bytes:
            return True, self.error_table(argv, stats_flag=False)
        if not self.host.script_acl_check(argv):
            return True, self.error_table(b"ERR Invalid command passed to redis.acl_check_cmd()", stats_flag=False)
        return False, True

    def _sha1hex(self, data: bytes) -> bytes:
        return hashlib.sha1(data).hexdigest().encode()

    def _log(self, level, message: bytes) -> None:
        log.log(LOG_LEVELS[int(level)], "%s", message.decode("utf-8", "replace"))

    def _setresp(self, resp) -> None:
        if self.run is not None:
            self.run.resp = int(resp)

    def _interrupted(self):
        run = self.run
        if run is not None and run.killed:
            return b"Script killed by user with SCRIPT KILL..."
        if self.load_deadline is not None and self.clock() > self.load_deadline:
            return b"FUNCTION LOAD timeout"
        return None

    def _register(self, name: bytes, fn, description, flags: bytes):
        err = self.host.register_function(name.decode("utf-8", "surrogateescape"), fn, description,
                                          flags.split(b",") if flags else [])
        if err is None:
            return False, None
        return True, self.error_table(b"ERR " + err.encode(), stats_flag=False)


def _argv(args) -> list[bytes] | bytes:
    """luaArgsToRedisArgv: strings as they are, numbers as ``%.17g``; the error text if another
    type is among them (or there are none)."""
    if not args:
        return b"ERR Please specify at least one argument for this redis lib call"
    argv = []
    for arg in args:
        cls = arg.__class__
        if cls is bytes:
            argv.append(arg)
        elif cls is int or cls is float:
            argv.append(b"%.17g" % arg)
        else:
            return b"ERR Lua redis lib command arguments must be strings or integers"
    return argv


def _hashable(value):
    """A map key or set member: arrays as tuples (they encode alike)."""
    cls = value.__class__
    if cls is list:
        return tuple(_hashable(v) for v in value)
    if cls is dict or cls is set or cls is OrderedSet:
        return tuple(_hashable(v) for v in (value.items() if cls is dict else value))
    if cls is tuple:
        return tuple(_hashable(v) for v in value)
    return value


def _plain(reply, resp3: bool):
    """A reply as plain Python values (bytes, numbers, booleans, None, lists, dicts with bytes
    keys) shaped as the Lua value redis.call returns, in the script's RESP version."""
    cls = reply.__class__
    if cls is bytes:
        return reply
    if cls is int:
        return reply
    if cls is list or cls is tuple:
        return [_plain(item, resp3) for item in reply]
    if reply is None or reply is NULL_ARRAY:
        return None if resp3 else False
    if cls is bool:
        return reply if resp3 else int(reply)
    if cls is Status:
        return {b"ok": reply.encode("utf-8", "surrogateescape")}
    if cls is Error:
        return {b"err": error_text(reply)}
    if cls is float:
        if resp3:
            return {b"double": reply}
        return (b"inf" if reply > 0 else b"-inf") if math.isinf(reply) else b"%.17g" % reply
    if cls is dict:
        if resp3:
            return {b"map": {_plain(k, resp3): _plain(v, resp3) for k, v in reply.items()}}
        return [_plain(x, resp3) for pair in reply.items() for x in pair]
    if cls is set or cls is frozenset or cls is OrderedSet:
        if resp3:
            return {b"set": {_plain(m, resp3): True for m in reply}}
        return [_plain(m, resp3) for m in reply]
    if cls is str:
        return reply.encode("utf-8", "surrogateescape")
    if cls is Pairs:
        if resp3:
            return [[_plain(x, resp3) for x in pair] for pair in reply]
        return [_plain(x, resp3) for pair in reply for x in pair]
    if cls is HumanDouble:
        return {b"double": float(reply)} if resp3 else bytes(reply)
    if cls is BigNumber:
        return {b"big_number": bytes(reply)} if resp3 else bytes(reply)
    if cls is Verbatim:
        text = bytes(reply)  # "fmt:text"
        return {b"verbatim_string": {b"format": text[:3], b"string": text[4:]}} if resp3 else text[4:]
    if isinstance(reply, list):  # Push, Replies: arrays
        return [_plain(item, resp3) for item in reply]
    raise TypeError(f"cannot hand a {cls.__name__} reply to Lua")
