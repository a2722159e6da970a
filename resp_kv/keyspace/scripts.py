"""Lua scripts and functions (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FUNCTION, FCALL,
FCALL_RO), as Redis 7.0's ``eval.c``, ``script.c``, ``script_lua.c``, ``function_lua.c`` and
``functions.c`` define them: each command one small method of :class:`ScriptCommands`, mixed
into the store. Replies and error wording are redis-server's. The Lua side (the sandbox, the
conversions between Lua values and replies) is in ``luaenv.py``; FUNCTION DUMP's payloads in
``rdb.py``.

State (plain attributes of the store, made on first use):

* ``scripts``: sha1 (40 lowercase hex bytes) -> script body, the script cache. EVAL adds its
  script to it as SCRIPT LOAD does (EVALSHA finds it afterwards). Compiled lazily: a store
  whose ``scripts`` was filled by a state transfer compiles each script on its first EVALSHA.
* ``libraries`` (read only: library name -> code) for the function libraries (:meth:`load_library`
  adds one). ``script_state`` lists the requests that rebuild the cache and the libraries on a
  new backup.

Replication. The backup never runs a script: a script may read TIME, draw random numbers or be
killed half way. Every EVAL/EVALSHA/FCALL (and their _RO forms) calls ``replicate_as`` with
what the backup runs instead: ``SCRIPT LOAD <body>`` first when EVAL added the script to the
cache, then the write commands the script ran, in order, as it ran them (a write command that
itself replicates as something else, SPOP, contributes those effects instead), and a
read-only command only if a key expired on its way (so the backup deletes it too). A SELECT in
a script travels with them, and a SELECT back to the caller's database ends them (as in Redis,
a script's SELECT does not change the caller's database). SCRIPT LOAD/FLUSH and FUNCTION
DELETE/FLUSH/RESTORE are deterministic: the backup runs them as they came. FUNCTION LOAD gives up
after ``function_load_timeout`` seconds, as Redis does, which the backup must not decide again:
a library that loaded reaches it as a FUNCTION RESTORE of its code (RESTORE has no time limit,
in Redis either), one that did not as nothing.

Long scripts. A running script (``script_run``: its name, kind, start time, whether it wrote)
calls back every few thousand Lua instructions; :meth:`script_kill` is SCRIPT KILL's and
FUNCTION KILL's decision (NOTBUSY, UNKILLABLE once it wrote, BUSY for the wrong kind, else the
script is stopped with Redis's error at its next check) and :meth:`busy_error` the BUSY reply
for other clients meanwhile. Scripts run synchronously here; the caller picks the thread.
"""

from __future__ import annotations

import hashlib
import time

from ..commands import NOT_INTEGER, ONCE, help_reply, subcommand_error, wrong_arity
from ..protocol import OK, Error, ProtocolError, Status, c_string, split_inline
from .glob import matcher
from .luaenv import LuaEngine, formatted_error
from .numbers import parse_int64
from .rdb import PayloadError, dump_functions, load_functions, verify

NOSCRIPT = Error("NOSCRIPT No matching script. Please use EVAL.")
NEGATIVE_KEYS = Error("ERR Number of keys can't be negative")
TOO_MANY_KEYS = Error("ERR Number of keys can't be greater than number of args")
BAD_FCALL_KEYS = Error("ERR Bad number of keys provided")
WRITE_FLAG_ON_RO = Error("ERR Can not execute a script with write flag using *_ro command.")
NOTBUSY = Error("NOTBUSY No scripts in execution right now.")
UNKILLABLE = Error("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
                   "wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
BUSY_EVAL = Error("BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
BUSY_FUNCTION = Error("BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
BAD_NAME = ("Library names can only contain letters, numbers, or underscores(_) and must be at least one "
            "character long")

# What redis.call answers for a command it does not run.
CALL_UNKNOWN = Error("ERR Unknown Redis command called from script")
CALL_ARITY = Error("ERR Wrong number of args calling Redis command from script")
CALL_NOSCRIPT = Error("ERR This Redis command is not allowed from script")
CALL_READ_ONLY = Error("ERR Write commands are not allowed from read-only scripts.")

SCRIPT_FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")
# Redis commands the store does not serve, as redis.call sees them: name -> (arity, kind).
# "noscript": refused in scripts; "container": its subcommands are (CLIENT, CONFIG, ...).
OTHER_COMMANDS = {
    b"PING": (-1, "ping"), b"ECHO": (2, "echo"), b"TIME": (1, "time"),
    b"PUBLISH": (3, "publish"), b"SPUBLISH": (3, "publish"),
    **{name: (arity, "noscript") for name, arity in (
        (b"MULTI", 1), (b"EXEC", 1), (b"DISCARD", 1), (b"WATCH", -2), (b"UNWATCH", 1), (b"SUBSCRIBE", -2),
        (b"UNSUBSCRIBE", -1), (b"PSUBSCRIBE", -2), (b"PUNSUBSCRIBE", -1), (b"SSUBSCRIBE", -2), (b"SUNSUBSCRIBE", -1),
        (b"AUTH", -2), (b"HELLO", -1), (b"QUIT", -1), (b"ROLE", 1), (b"WAIT", 3), (b"MONITOR", 1), (b"RESET", 1),
        (b"SAVE", 1), (b"BGSAVE", -1), (b"BGREWRITEAOF", 1), (b"SHUTDOWN", -1), (b"DEBUG", -2), (b"SYNC", 1),
        (b"PSYNC", -3), (b"REPLICAOF", 3), (b"SLAVEOF", 3), (b"FAILOVER", -1), (b"REPLCONF", -1))},
    **{name: (-2, "container") for name in (b"CLIENT", b"CONFIG", b"ACL", b"LATENCY", b"MODULE")},
}
# Their subcommands, all refused in scripts (an unknown one is an unknown command).
CONTAINER_SUBCOMMANDS = {
    b"CLIENT": {b"CACHING", b"GETNAME", b"GETREDIR", b"ID", b"INFO", b"KILL", b"LIST", b"NO-EVICT", b"PAUSE",
                b"REPLY", b"SETNAME", b"TRACKING", b"TRACKINGINFO", b"UNBLOCK", b"UNPAUSE"},
    b"CONFIG": {b"GET", b"SET", b"RESETSTAT", b"REWRITE"},
    b"ACL": {b"CAT", b"DELUSER", b"DRYRUN", b"GENPASS", b"GETUSER", b"LIST", b"LOAD", b"LOG", b"SAVE", b"SETUSER",
             b"USERS", b"WHOAMI"},
    b"LATENCY": {b"DOCTOR", b"GRAPH", b"HISTOGRAM", b"HISTORY", b"LATEST", b"RESET"},
    b"MODULE": {b"LIST", b"LOAD", b"LOADEX", b"UNLOAD"},
}

SCRIPT_HELP = [
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
]
FUNCTION_HELP = [
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE "
    "command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
]


def sha1hex(data: bytes) -> bytes:
    return hashlib.sha1(data).hexdigest().encode()


def subcommand_syntax_error(args: list[bytes]) -> Error:
    """addReplySubcommandSyntaxError."""
    return Error(f"ERR unknown subcommand or wrong number of arguments for '{c_string(args[1], 128)}'. "
                 f"Try {c_string(args[0]).upper()} HELP.")


def c_word(raw: bytes) -> bytes:
    """An argument as Redis's strcasecmp sees it: up to its first NUL byte, in lower case."""
    return raw.split(b"\0", 1)[0].lower()


def valid_name(name: str) -> bool:
    return bool(name) and name.isascii() and all(ch.isalnum() or ch == "_" for ch in name)


def shebang_flags(body: bytes):
    """An EVAL script's flags from its ``#!lua flags=...`` line: (None for a script without one
    (compatibility mode) or the set of flags, the shebang's length), or the error reply."""
    if not body.startswith(b"#!"):
        return None, 0
    end = body.split(b"\0", 1)[0].find(b"\n")
    if end < 0:
        return Error("ERR Invalid script shebang")
    try:
        parts = split_inline(body[:end])
    except ProtocolError:
        return Error("ERR Invalid engine in script shebang")
    if parts[0] != b"#!lua":
        return Error(f"ERR Unexpected engine in script shebang: {c_string(parts[0])}")
    flags = set()
    for part in parts[1:]:
        if not part.startswith(b"flags="):
            return Error(f"ERR Unknown lua shebang option: {c_string(part)}")
        for flag in part[6:].split(b",") if part[6:] else ():
            name = flag.decode("utf-8", "surrogateescape")
            if name not in SCRIPT_FLAGS:
                return Error(f"ERR Unexpected flag in script shebang: {c_string(flag)}")
            flags.add(name)
    return frozenset(flags), end


def library_metadata(code: bytes):
    """A library's ``#!<engine> name=<name>`` line: (engine, name, the code after the line), or
    the error's text (functionExtractLibMetaData)."""
    if not code.startswith(b"#!"):
        return "Missing library metadata"
    end = code.split(b"\0", 1)[0].find(b"\n")
    if end < 0:
        return "Invalid library metadata"
    try:
        parts = split_inline(code[:end])
    except ProtocolError:
        return "Invalid library metadata"
    name = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            if name is not None:
                return "Invalid metadata value, name argument was given multiple times"
            name = part[5:]
            continue
        return f"Invalid metadata value given: {c_string(part)}"
    if name is None:
        return "Library name was not given"
    return parts[0][2:], name.decode("utf-8", "surrogateescape"), code[end:]


class ScriptRun:
    """One running script or function: what SCRIPT KILL, FUNCTION STATS and redis.call need."""

    __slots__ = ("name", "eval_mode", "read_only", "command", "resp", "wrote", "killed", "effects", "started")

    def __init__(self, name: str, eval_mode: bool, read_only: bool, command: list[bytes]):
        self.name = name
        self.eval_mode = eval_mode  # EVAL (SCRIPT KILL), or FCALL (FUNCTION KILL)
        self.read_only = read_only
        self.command = command
        self.resp = 2  # redis.setresp
        self.wrote = False
        self.killed = False
        self.effects: list[list[bytes]] = []  # what the backup runs instead
        self.started = time.monotonic()


class Function:
    __slots__ = ("name", "library", "fn", "description", "flags")

    def __init__(self, name: str, library: "Library", fn, description: bytes | None, flags: frozenset):
        self.name, self.library, self.fn, self.description, self.flags = name, library, fn, description, flags


class Library:
    __slots__ = ("name", "code", "functions")

    def __init__(self, name: str, code: bytes):
        self.name = name
        self.code = code
        self.functions: dict[str, Function] = {}  # by name, as registered


class FunctionSet:
    """Libraries by name, and their functions by lower-case name (FCALL's lookup ignores case)."""

    def __init__(self):
        self.libraries: dict[str, Library] = {}
        self.functions: dict[str, Function] = {}

    def link(self, library: Library) -> None:
        for function in library.functions.values():
            self.functions.setdefault(function.name.lower(), function)
        self.libraries[library.name] = library

    def unlink(self, library: Library) -> None:
        for function in library.functions.values():
            if self.functions.get(function.name.lower()) is function:
                del self.functions[function.name.lower()]
        del self.libraries[library.name]

    def collision(self, library: Library) -> str | None:
        """The first of the library's functions whose name another library has taken."""
        return next((f.name for f in library.functions.values() if f.name.lower() in self.functions), None)

    def join(self, other: "FunctionSet", replace: bool) -> Error | None:
        """Add ``other``'s libraries (libraryJoin): an existing library is an error, or replaced;
        a function name taken by another library is an error (and nothing changes)."""
        replaced = []
        for name in other.libraries:
            old = self.libraries.get(name)
            if old is not None:
                if not replace:
                    return self._revert(replaced, Error(f"ERR Library {name} already exists"))
                self.unlink(old)
                replaced.append(old)
        for library in other.libraries.values():
            taken = self.collision(library)
            if taken is not None:
                return self._revert(replaced, Error(f"ERR Function {taken} already exists"))
        for library in other.libraries.values():
            self.link(library)
        return None

    def _revert(self, replaced: list[Library], error: Error) -> Error:
        for library in replaced:
            self.link(library)
        return error


class _PerStore:
    """A store attribute made on first use (the keyspace's __init__ knows nothing of scripts)."""

    def __init__(self, factory):
        self.factory = factory

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, store, owner=None):
        if store is None:
            return self
        value = store.__dict__[self.name] = self.factory()
        return value


class ScriptCommands:
    """Mixed into the store, which provides the keyspace (db.py), ``table`` and ``run``."""

    scripts = _PerStore(dict)  # sha1 hex -> body
    # What redis.call ran since the node last took them (INFO commandstats): (name, args,
    # nanoseconds, reply) each.
    script_calls = _PerStore(list)
    _function_set = _PerStore(FunctionSet)
    script_run: ScriptRun | None = None  # the script running now
    function_load_timeout: float | None = 0.5  # seconds (Redis's 500 ms); None: no limit
    _rand48 = 0x1234ABCD330E  # redisLrand48's state (math.random)
    _eval_lua: LuaEngine | None = None
    _function_lua: LuaEngine | None = None
    _loading: Library | None = None  # the library FUNCTION LOAD is running

    @property
    def libraries(self) -> dict[str, bytes]:
        """Library name -> code."""
        return {name: library.code for name, library in self._function_set.libraries.items()}

    def script_state(self) -> list[list[bytes]]:
        """The requests that rebuild the script cache and the libraries on a new store."""
        codes = [library.code for library in self._function_set.libraries.values()]
        return ([[b"SCRIPT", b"LOAD", body] for body in self.scripts.values()]
                + ([[b"FUNCTION", b"RESTORE", dump_functions(codes), b"FLUSH"]] if codes else []))

    # ------------------------------------------------------------------ EVAL and friends

    def cmd_eval(self, args):
        return self._eval(args, evalsha=False, read_only=False)

    def cmd_eval_ro(self, args):
        return self._eval(args, evalsha=False, read_only=True)

    def cmd_evalsha(self, args):
        return self._eval(args, evalsha=True, read_only=False)

    def cmd_evalsha_ro(self, args):
        return self._eval(args, evalsha=True, read_only=True)

    def _eval(self, args, evalsha: bool, read_only: bool):
        """evalGenericCommand. The backup runs the effects (``replicate_as``), never the script."""
        effects: list[list[bytes]] = []
        try:
            if evalsha and len(args[1]) != 40:
                return NOSCRIPT
            numkeys = self._numkeys(args[2], NOT_INTEGER, len(args))
            if numkeys.__class__ is Error:
                return numkeys
            engine = self._eval_engine()
            sha = args[1].lower() if evalsha else sha1hex(args[1])
            script = self._cached_script(engine, sha)
            if script is None:
                if evalsha:
                    return NOSCRIPT
                script = self._create_script(engine, sha, args[1])
                if script.__class__ is Error:
                    return script
                effects.append([b"SCRIPT", b"LOAD", args[1]])
            fn, flags = script
            compat = flags is None
            if not compat and "no-writes" not in flags and read_only:
                return WRITE_FLAG_ON_RO
            read_only = read_only or (not compat and "no-writes" in flags)
            keys, argv = args[3 : 3 + numkeys], args[3 + numkeys :]
            reply, run = self._run_script(engine, fn, sha.decode(), True, read_only, keys, argv, args)
            effects += run.effects
            return reply
        finally:
            self.effects = effects

    @staticmethod
    def _numkeys(raw: bytes, not_a_number: Error, argc: int):
        numkeys = parse_int64(raw)
        if numkeys is None:
            return not_a_number
        if numkeys > argc - 3:
            return TOO_MANY_KEYS
        if numkeys < 0:
            return NEGATIVE_KEYS
        return numkeys

    def _eval_engine(self) -> LuaEngine:
        engine = self._eval_lua
        if engine is None:
            engine = self._eval_lua = LuaEngine(self)
            engine.cache = {}  # sha -> (compiled function, flags)
        return engine

    def _cached_script(self, engine: LuaEngine, sha: bytes):
        """(compiled function, flags) of a cached script; None if it is not in the cache. (A body
        that came with a state transfer is compiled on first use.)"""
        script = engine.cache.get(sha)
        if script is None and sha in self.scripts:
            script = self._create_script(engine, sha, self.scripts[sha])
            if script.__class__ is Error:
                return None
        return script

    def _create_script(self, engine: LuaEngine, sha: bytes, body: bytes):
        """luaCreateFunction: compile a script into the cache; (function, flags) or the error."""
        parsed = shebang_flags(body)
        if parsed.__class__ is Error:
            return parsed
        flags, shebang_length = parsed
        fn, err = engine.compile(body[shebang_length:], b"@user_script")
        if fn is None:
            return formatted_error("ERR Error compiling script (new function): "
                                   + err.decode("utf-8", "surrogateescape"))
        engine.cache[sha] = script = (fn, flags)
        self.scripts[sha] = body
        return script

    def _run_script(self, engine: LuaEngine, fn, name: str, eval_mode: bool, read_only: bool,
                    keys: list[bytes], argv: list[bytes], command: list[bytes]):
        """Run a script or function to its reply: (reply, ScriptRun). Its SELECTs do not outlive it."""
        run = ScriptRun(name, eval_mode, read_only, command)
        db = self.db
        self.script_run = engine.run = run
        try:
            ok, value = engine.call(fn, keys, argv)
            reply = engine.reply(value, run.resp) if ok else engine.error_reply(value, name)
        finally:
            self.script_run = engine.run = None
            if self.db is not db:
                run.effects.append([b"SELECT", b"%d" % db.index])
                self.db = db
        return reply, run

    # ------------------------------------------------------------------ what redis.call runs

    def script_command(self, argv: list[bytes]):
        """redis.call's command: its reply, or the error of a command a script may not run."""
        run = self.script_run
        cmd = self.table.lookup(argv[0])
        if cmd is None or cmd is ONCE:
            return self._other_command(argv, run)
        if not cmd.arity_ok(len(argv)):
            return CALL_ARITY
        flags = cmd.flags
        if "noscript" in flags:
            return CALL_NOSCRIPT
        if cmd.subcommands():  # (OBJECT, SCRIPT, FUNCTION)
            refused = subcommand_error(argv)
            if refused is not None:
                return CALL_ARITY if refused.startswith("ERR wrong number") else CALL_UNKNOWN
            if cmd.name != "OBJECT" and argv[1].upper() != b"HELP":
                return CALL_NOSCRIPT
        write = "write" in flags
        if write:
            if run.read_only:
                return CALL_READ_ONLY
            run.wrote = True
        expired, db = self.expired_keys, self.db
        self.effects = None
        started = time.perf_counter_ns()
        reply = self.run(argv)
        self.script_calls.append((cmd.name, argv, time.perf_counter_ns() - started, reply))
        effects, self.effects = self.effects, None
        if effects is not None:
            run.effects += effects
        elif write or self.db is not db or self.expired_keys != expired:
            run.effects.append(argv)
        return reply

    def _other_command(self, argv: list[bytes], run: ScriptRun):
        """The commands scripts may call that are not the store's (PING, ECHO, TIME, PUBLISH),
        and the Redis commands they may not."""
        name = argv[0].upper()
        spec = OTHER_COMMANDS.get(name)
        if spec is None:
            return CALL_UNKNOWN
        arity, kind = spec
        if kind == "container" and len(argv) > 1 and argv[1].upper() not in CONTAINER_SUBCOMMANDS[name]:
            return CALL_UNKNOWN
        if not (len(argv) == arity if arity > 0 else len(argv) >= -arity):
            return CALL_ARITY
        if kind in ("noscript", "container"):
            return CALL_NOSCRIPT
        if kind == "ping":
            if len(argv) > 2:
                return wrong_arity("ping")
            return Status("PONG") if len(argv) == 1 else argv[1]
        if kind == "echo":
            return argv[1]
        if kind == "time":
            micros = int(self.now * 1_000_000)
            return [b"%d" % (micros // 1_000_000), b"%d" % (micros % 1_000_000)]
        if run.read_only:  # PUBLISH may replicate: a write, for read-only scripts
            return CALL_READ_ONLY
        publish = getattr(self, "script_publish", None)  # set by the server: (channel, message) -> receivers
        return 0 if publish is None else publish(argv[1], argv[2])

    def script_acl_check(self, argv: list[bytes]) -> bool:
        """redis.acl_check_cmd: every user may run every command here; is it one?"""
        cmd = self.table.lookup(argv[0])
        if cmd is not None and cmd is not ONCE:
            return len(argv) < 2 or not cmd.subcommands() or argv[1].lower() in cmd.subcommands()
        name = argv[0].upper()
        if name in CONTAINER_SUBCOMMANDS and len(argv) > 1:
            return argv[1].upper() in CONTAINER_SUBCOMMANDS[name]
        return name in OTHER_COMMANDS

    # ------------------------------------------------------------------ math.random's generator

    def lrand48(self) -> int:
        """redisLrand48: the next of a 48-bit linear congruential sequence, its top 31 bits."""
        self._rand48 = (0x5DEECE66D * self._rand48 + 0xB) & 0xFFFFFFFFFFFF
        return self._rand48 >> 17

    def srand48(self, seed) -> None:
        self._rand48 = ((int(seed) & 0xFFFFFFFF) << 16) | 0x330E

    # ------------------------------------------------------------------ SCRIPT

    def cmd_script(self, args):  # (the store checked the subcommand: Store.runner)
        sub = args[1].upper()
        if sub == b"LOAD":
            engine = self._eval_engine()
            sha = sha1hex(args[2])
            script = self._cached_script(engine, sha) or self._create_script(engine, sha, args[2])
            return script if script.__class__ is Error else sha
        if sub == b"EXISTS":
            scripts = self.scripts
            return [1 if c_word(sha) in scripts else 0 for sha in args[2:]]
        if sub == b"FLUSH":
            if len(args) > 3 or (len(args) == 3 and c_word(args[2]) not in (b"sync", b"async")):
                return Error("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
            self.scripts.clear()
            self._eval_lua = None  # a new Lua state, as Redis's scriptingReset
            return OK
        if sub == b"KILL":
            return self.script_kill(eval_mode=True)
        if sub == b"DEBUG":
            mode = c_word(args[2])
            if mode == b"no":
                return OK
            if mode in (b"yes", b"sync"):
                return Error("ERR SCRIPT DEBUG (the Lua debugger) is not supported")
            return Error("ERR Use SCRIPT DEBUG YES/SYNC/NO")
        return help_reply(args[0], SCRIPT_HELP)

    # ------------------------------------------------------------------ SCRIPT KILL, FUNCTION KILL, BUSY

    def script_kill(self, eval_mode: bool):
        """SCRIPT KILL (``eval_mode``) or FUNCTION KILL: the reply, and the running script is
        stopped at its next check when it is OK."""
        run = self.script_run
        if run is None:
            return NOTBUSY
        if run.wrote:
            return UNKILLABLE
        if eval_mode and not run.eval_mode:
            return BUSY_FUNCTION
        if not eval_mode and run.eval_mode:
            return BUSY_EVAL
        run.killed = True
        return OK

    def busy_error(self) -> Error | None:
        """What another client's command gets while a script runs (None: none runs)."""
        run = self.script_run
        if run is None:
            return None
        return BUSY_EVAL if run.eval_mode else BUSY_FUNCTION

    # ------------------------------------------------------------------ FUNCTION

    def cmd_function(self, args):  # (the store checked the subcommand: Store.runner)
        sub = args[1].upper()
        return getattr(self, "_function_" + sub.decode().lower())(args)

    def _function_load(self, args):
        replace = False
        for option in args[2:-1]:
            if c_word(option) != b"replace":
                return formatted_error(f"ERR Unknown option given: {c_string(option)}")
            replace = True
        name = self.load_library(args[-1], replace)
        if name.__class__ is Error:
            self.replicate_as()
            return name
        # The backup restores what loaded here (a load there could run out of time).
        self.replicate_as([b"FUNCTION", b"RESTORE", dump_functions([args[-1]]), b"REPLACE"])
        return name.encode()

    def _function_delete(self, args):
        functions = self._function_set
        library = functions.libraries.get(args[2].decode("utf-8", "surrogateescape"))
        if library is None:
            return Error("ERR Library not found")
        functions.unlink(library)
        return OK

    def _function_flush(self, args):
        if len(args) > 3:
            return subcommand_syntax_error(args)
        if len(args) == 3 and c_word(args[2]) not in (b"sync", b"async"):
            return Error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
        self._function_set = FunctionSet()
        return OK

    def _function_list(self, args):
        with_code, pattern = False, None
        i = 2
        while i < len(args):
            option = c_word(args[i])
            if not with_code and option == b"withcode":
                with_code = True
            elif pattern is None and option == b"libraryname":
                if i >= len(args) - 1:
                    return Error("ERR library name argument was not given")
                i += 1
                pattern = args[i]
            else:
                return Error(f"ERR Unknown argument {c_string(args[i])}")
            i += 1
        match = matcher(pattern.lower(), every_key=False) if pattern is not None else None
        return [self._library_info(library, with_code) for library in self._function_set.libraries.values()
                if match is None or match(library.name.encode().lower())]

    @staticmethod
    def _library_info(library: Library, with_code: bool) -> dict:
        info = {b"library_name": library.name.encode(), b"engine": b"LUA", b"functions": [
            {b"name": f.name.encode(), b"description": f.description,
             b"flags": {Status(flag) for flag in SCRIPT_FLAGS if flag in f.flags}}
            for f in library.functions.values()]}
        if with_code:
            info[b"library_code"] = library.code
        return info

    def _function_dump(self, args):
        return dump_functions(library.code for library in self._function_set.libraries.values())

    def _function_restore(self, args):
        if len(args) > 4:
            return subcommand_syntax_error(args)
        policy = c_word(args[3]) if len(args) == 4 else b"append"
        if policy not in (b"append", b"replace", b"flush"):
            return Error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
        if not verify(args[2]):
            return Error("ERR DUMP payload version or checksum are wrong")
        try:
            codes = load_functions(args[2])
        except PayloadError as exc:
            return Error(f"ERR {exc}")
        restored = FunctionSet()
        for code in codes:
            name = self._create_library(code, False, restored, timeout=None)
            if name.__class__ is Error:
                return name
        if policy == b"flush":
            self._function_set = restored
            return OK
        error = self._function_set.join(restored, replace=policy == b"replace")
        return OK if error is None else error

    def _function_kill(self, args):
        return self.script_kill(eval_mode=False)

    def _function_stats(self, args):
        run = self.script_run
        if run is not None and run.eval_mode:
            return BUSY_EVAL
        running = None
        if run is not None:
            running = {b"name": run.name.encode(), b"command": list(run.command),
                       b"duration_ms": int((time.monotonic() - run.started) * 1000)}
        libraries = self._function_set.libraries.values()
        return {b"running_script": running, b"engines": {b"LUA": {
            b"libraries_count": len(libraries), b"functions_count": sum(len(lib.functions) for lib in libraries)}}}

    def _function_help(self, args):
        return help_reply(args[0], FUNCTION_HELP)

    # ------------------------------------------------------------------ libraries

    def load_library(self, code: bytes, replace: bool = False):
        """FUNCTION LOAD [REPLACE] <code>: the library's name, or the error reply. (The state
        transfer rebuilds a new backup's libraries with it.)"""
        return self._create_library(code, replace, self._function_set, self.function_load_timeout)

    def _create_library(self, code: bytes, replace: bool, functions: FunctionSet, timeout: float | None):
        """functionsCreateWithLibraryCtx: run the library's code, which registers its functions,
        and add it to ``functions``."""
        meta = library_metadata(code)
        if meta.__class__ is str:
            return Error("ERR " + meta)
        engine_name, name, body = meta
        if not valid_name(name):
            return Error("ERR " + BAD_NAME)
        if c_word(engine_name) != b"lua":
            return Error(f"ERR Engine '{engine_name.decode('utf-8', 'surrogateescape')}' not found")
        old = functions.libraries.get(name)
        if old is not None and not replace:
            return Error(f"ERR Library '{name}' already exists")
        if old is not None:
            functions.unlink(old)
        library = Library(name, code)
        error = self._run_library(library, body, timeout)
        if error is None and not library.functions:
            error = Error("ERR No functions registered")
        if error is None:
            taken = functions.collision(library)
            if taken is not None:
                error = Error(f"ERR Function {taken} already exists")
        if error is not None:
            if old is not None:
                functions.link(old)
            return error
        functions.link(library)
        return name

    def _run_library(self, library: Library, body: bytes, timeout: float | None) -> Error | None:
        engine = self._function_lua
        if engine is None:
            engine = self._function_lua = LuaEngine(self, functions=True)
            engine.clock = time.monotonic
        fn, err = engine.compile(body, b"@user_function")
        if fn is None:
            return Error("ERR Error compiling function: " + err.decode("utf-8", "surrogateescape"))
        self._loading = library
        engine.load_deadline = None if not timeout else time.monotonic() + timeout
        try:
            err = engine.load_library(fn)
        finally:
            self._loading = None
            engine.load_deadline = None
        if err is not None:
            return Error("ERR Error registering functions: " + err.decode("utf-8", "surrogateescape"))
        return None

    def register_function(self, name: str, fn, description: bytes | None, flags: list[bytes]) -> str | None:
        """redis.register_function, while FUNCTION LOAD runs a library: None, or the error."""
        library = self._loading
        if library is None:
            return "redis.register_function can only be called on FUNCTION LOAD command"
        if not valid_name(name):
            return BAD_NAME
        if name in library.functions:
            return "Function already exists in the library"
        library.functions[name] = Function(name, library, fn, description,
                                           frozenset(flag.decode() for flag in flags))
        return None

    # ------------------------------------------------------------------ FCALL

    def cmd_fcall(self, args):
        return self._fcall(args, read_only=False)

    def cmd_fcall_ro(self, args):
        return self._fcall(args, read_only=True)

    def _fcall(self, args, read_only: bool):
        effects: list[list[bytes]] = []
        try:
            function = self._function_set.functions.get(args[1].lower().decode("latin-1"))
            if function is None:
                return Error("ERR Function not found")
            numkeys = self._numkeys(args[2], BAD_FCALL_KEYS, len(args))
            if numkeys.__class__ is Error:
                return numkeys
            if "no-writes" not in function.flags and read_only:
                return WRITE_FLAG_ON_RO
            read_only = read_only or "no-writes" in function.flags
            keys, argv = args[3 : 3 + numkeys], args[3 + numkeys :]
            reply, run = self._run_script(self._function_lua, function.fn, function.name, False, read_only, keys,
                                          argv, args)
            effects += run.effects
            return reply
        finally:
            self.effects = effects
