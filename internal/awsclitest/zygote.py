"""Zygote of the Go package awsclitest: runs the AWS CLI v1 in processes
forked from an interpreter that has already imported it.

awsclitest starts it with "python -c", in the directory and with the
environment of a run it serves, except that HOME is a path that does not
exist (the sentinel), and talks to it in JSON lines.

On standard input:
  first  {"env": {...}, "script": path or "", "home": sentinel or ""}
         the environment the zygote was started with, the aws script when
         awsclitest knows it, and the sentinel standing for HOME ("" when
         HOME is the one of the run);
  then   {"id": n, "argv": [...], "env": [[k, v], ...], "cwd": dir,
          "stdout": file, "stderr": file}: run aws in a child;
  or     {"cancel": n}: kill the child of run n.
On standard output:
  first  {"ready": true, "deps": [...], "cwd": bool, "home": bool}:
         the environment variables the imports read ("*" for all), so that
         a run whose environment gives them other values is not served by
         this zygote; whether they read the working directory; whether
         HOME could be replaced in children. Or {"ready": false, "error": s}.
  then   {"id": n, "code": exit status, or -signal},
         {"id": n, "fallback": reason}: run aws as a process instead,
         {"id": n, "error": text}.

Before it answers, the zygote imports the AWS CLI, tracing what the imports
read of the environment, finds what they built from HOME, and does work
that every child would do alike (_warm). It has a single thread, so that
forking is safe, and reaps children on SIGCHLD through a wakeup pipe. It
exits when its standard input ends or its parent changes.

A child makes itself what a new process of the aws script would be: the
signal handlers and file descriptors 0-2 of a new process, the run's
environment (with the changes the interpreter and the imports made to the
zygote's), directory and arguments, and the values built from HOME rebuilt
from the run's; then it runs the aws script as __main__ and exits as the
interpreter would, except that it does not tear the modules down.
"""

import os
import sys

# The services whose JSON models are parsed before forking. A child takes
# each parsed file at most once, as a new process parses it once; loading it
# again reads the file again.
_SERVICES = ("ec2", "cloudwatch", "autoscaling", "sts", "organizations")
_TOP_FILES = ("cli", "endpoints", "partitions", "_retry", "sdk-default-configuration")
_MODEL_FILES = ("service-2", "paginators-1", "waiters-2", "endpoint-rule-set-1")

# The aws script of the AWS CLI v1, for when the zygote cannot find it.
_SCRIPT = """import sys
import os

if os.environ.get('LC_CTYPE', '') == 'UTF-8':
    os.environ['LC_CTYPE'] = 'en_US.UTF-8'
import awscli.clidriver


def main():
    return awscli.clidriver.main()


if __name__ == '__main__':
    sys.exit(main())
"""


def _fs(s):
    """Returns the str a new process has for the UTF-8 bytes of s: it decodes
    argv and environ with the file system encoding."""
    return os.fsdecode(s.encode("utf-8", "surrogateescape"))


def _send(obj):
    import json

    data = (json.dumps(obj) + "\n").encode()
    while data:
        data = data[os.write(1, data) :]


def _lc_ctype_fixup():
    # What the aws script does before it imports awscli.clidriver.
    if os.environ.get("LC_CTYPE", "") == "UTF-8":
        os.environ["LC_CTYPE"] = "en_US.UTF-8"


class _Home:
    """Stands for HOME in what the imports computed: finds every str that
    holds the sentinel and, in a child, replaces it by what
    os.path.expanduser gives with the child's environment."""

    def __init__(self, sentinel):
        self.sentinel = sentinel
        self.sites = []  # (setter, original str)
        self.problems = []

    def rehome(self, s, env):
        """Returns s with the sentinel replaced as expanduser("~...") would
        have built s with env."""
        if "HOME" in env:
            home = env["HOME"]
        else:
            try:
                import pwd

                home = pwd.getpwuid(os.getuid()).pw_dir
            except (ImportError, KeyError):
                home = "~"
        home = home.rstrip("/")
        if s == self.sentinel:
            return home or "/"
        return s.replace(self.sentinel, home)

    def replaceable(self, s):
        """Reports whether every sentinel in s stands for a whole directory."""
        n = len(self.sentinel)
        i = s.find(self.sentinel)
        while i >= 0:
            if s[i + n : i + n + 1] not in ("", "/"):
                return False
            i = s.find(self.sentinel, i + n)
        return True

    def scan(self, exclude):
        """Finds what holds the sentinel; records a problem for every holder
        that is not a global, a class attribute, a default argument or a
        list."""
        import gc

        S, Sb = self.sentinel, os.fsencode(self.sentinel)
        gc.collect()
        hits, untracked, seen, r = [], [], set(), None
        # Containers of atoms (strings, numbers) are not tracked by gc, so
        # get_objects misses them: find them among the referents.
        refs = gc.get_referents(*gc.get_objects())
        while refs:
            level = []
            for r in refs:
                t = type(r)
                if t is str:
                    if S in r:
                        hits.append(r)
                elif t is bytes:
                    if Sb in r:
                        hits.append(r)
                elif (t is tuple or t is dict) and id(r) not in seen and not gc.is_tracked(r):
                    seen.add(id(r))
                    level.append(r)
            untracked.extend(level)
            refs = gc.get_referents(*level)
        del refs, level, r, seen
        if not hits:
            return
        ids = {id(h) for h in hits}
        holders = [u for u in untracked if any(id(x) in ids for x in gc.get_referents(u))]
        del untracked
        ignore = {id(hits), id(holders), id(sys._getframe()), id(self.__dict__)}
        ignore.update(id(x) for x in exclude)
        holders.extend(gc.get_referrers(*hits))
        for holder in holders:
            if id(holder) in ignore:
                continue
            held = [h for h in hits if any(h is x for x in gc.get_referents(holder))]
            if not self._site(holder, held):
                self.problems.append("a %s holds %r" % (type(holder).__name__, held[0]))

    def _site(self, holder, held):
        import gc
        import types

        if not all(type(h) is str and self.replaceable(h) for h in held):
            return False
        if type(holder) is dict:
            if any(k is h for k in holder for h in held):
                return False
            for owner in gc.get_referrers(holder):
                if isinstance(owner, types.ModuleType) and owner.__dict__ is holder:
                    self._add_items(holder, held, holder.__setitem__)
                    return True
                if isinstance(owner, types.FunctionType) and owner.__kwdefaults__ is holder:
                    self._add_items(holder, held, holder.__setitem__)
                    return True
                if isinstance(owner, type) and gc.get_referents(owner.__dict__)[0] is holder:
                    self._add_items(holder, held, lambda k, v, c=owner: setattr(c, k, v))
                    return True
            return False
        if type(holder) is list:
            for i, v in enumerate(holder):
                if any(v is h for h in held):
                    self.sites.append((lambda new, lst=holder, i=i: lst.__setitem__(i, new), v))
            return True
        if type(holder) is tuple:
            for owner in gc.get_referrers(holder):
                if isinstance(owner, types.FunctionType) and owner.__defaults__ is holder:
                    for i, v in enumerate(holder):
                        if any(v is h for h in held):
                            self.sites.append((lambda new, f=owner, i=i: _set_default(f, i, new), v))
                    return True
        return False

    def _add_items(self, d, held, setitem):
        for k, v in list(d.items()):
            if any(v is h for h in held):
                self.sites.append((lambda new, k=k: setitem(k, new), v))

    def apply(self, env):
        for set_value, original in self.sites:
            set_value(self.rehome(original, env))


def _set_default(f, i, value):
    d = list(f.__defaults__)
    d[i] = value
    f.__defaults__ = tuple(d)


class _Trace:
    """Records what the imports read of the environment, of the working
    directory and of files under the sentinel."""

    def __init__(self, sentinel):
        self.sentinel = sentinel
        self.reads = set()
        self.writes = []  # (key, value or None), in order
        self.all = False
        self.cwd = False
        self.original_dir = False  # multiprocessing.process read it
        self.home_files = []
        self.active = False

    def __enter__(self):
        import posixpath

        E = type(os.environ)
        trace = self
        names = ("__getitem__", "__setitem__", "__delitem__", "__iter__", "__len__")
        self.env_saved = saved = {name: E.__dict__[name] for name in names}
        self.os_saved = {name: getattr(os, name) for name in ("getcwd", "getcwdb", "stat", "lstat")}

        def text(k):
            return os.fsdecode(k) if isinstance(k, bytes) else k

        def getitem(env, k):
            trace.reads.add(text(k))
            return saved["__getitem__"](env, k)

        def setitem(env, k, v):
            trace.writes.append((text(k), text(v)))
            return saved["__setitem__"](env, k, v)

        def delitem(env, k):
            trace.writes.append((text(k), None))
            return saved["__delitem__"](env, k)

        def iter_(env):
            trace.all = True
            return saved["__iter__"](env)

        def len_(env):
            trace.all = True
            return saved["__len__"](env)

        E.__getitem__, E.__setitem__, E.__delitem__ = getitem, setitem, delitem
        E.__iter__, E.__len__ = iter_, len_

        mp = os.path.join(os.path.dirname(posixpath.__file__), "multiprocessing", "process.py")

        def getcwd_wrapper(real):
            def getcwd():
                if trace.active:
                    if sys._getframe(1).f_code.co_filename == mp:
                        trace.original_dir = True
                    else:
                        trace.cwd = True
                return real()

            return getcwd

        def stat_wrapper(real):
            def stat(path, *args, **kwargs):
                trace.check_path(path)
                return real(path, *args, **kwargs)

            return stat

        os.getcwd = getcwd_wrapper(self.os_saved["getcwd"])
        os.getcwdb = getcwd_wrapper(self.os_saved["getcwdb"])
        os.stat = stat_wrapper(self.os_saved["stat"])
        os.lstat = stat_wrapper(self.os_saved["lstat"])
        sys.addaudithook(self._audit)
        self.active = True
        return self

    def check_path(self, path):
        if not self.active or not self.sentinel:
            return
        try:
            p = os.fsdecode(path)
        except TypeError:
            return
        if self.sentinel in p:
            self.home_files.append(p)

    def _audit(self, event, args):
        if self.active and event in ("open", "os.listdir", "os.scandir") and args:
            self.check_path(args[0])

    def __exit__(self, *exc):
        self.active = False
        E = type(os.environ)
        for name, f in self.env_saved.items():
            setattr(E, name, f)
        for name, f in self.os_saved.items():
            setattr(os, name, f)


# The botocore functions whose work children skip, as they are in the
# botocore versions the replacements were written for. A function whose
# source is not the same is left alone.
_LOAD_FILE = """
def _load_file(self, full_path, open_method):
    if not os.path.isfile(full_path):
        return
    with open_method(full_path, 'rb') as fp:
        payload = fp.read().decode('utf-8')
    logger.debug("Loading JSON file: %s", full_path)
    return json.loads(payload, object_pairs_hook=OrderedDict)
"""
_LIST_AVAILABLE_SERVICES = """
def list_available_services(self, type_name):
    services = set()
    for possible_path in self._potential_locations():
        possible_services = [
            d
            for d in os.listdir(possible_path)
            if os.path.isdir(os.path.join(possible_path, d))
        ]
        for service_name in possible_services:
            full_dirname = os.path.join(possible_path, service_name)
            api_versions = os.listdir(full_dirname)
            for api_version in api_versions:
                full_load_path = os.path.join(full_dirname, api_version, type_name)
                if self.file_loader.exists(full_load_path):
                    services.add(service_name)
                    break
    return sorted(services)
"""


def _is(func, source):
    """Reports whether the source of func is source, a def, but for
    comments, layout, docstrings and decorators."""
    import ast
    import inspect
    import textwrap
    import types

    def tree(text):
        (f,) = ast.parse(textwrap.dedent(text)).body
        body = f.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        return ast.dump(ast.Module(body=[f.name, f.args] + body, type_ignores=[]))

    if not isinstance(func, types.FunctionType):
        return False
    try:
        return tree(inspect.getsource(func)) == tree(source)
    except (OSError, TypeError, SyntaxError, ValueError):
        return False


def _warm():
    """Does before forking what children would do alike: parses the JSON
    models of _SERVICES, fills xform_name's memo for their operations, and
    lists the services of the data directories of botocore and awscli (which
    do not change while the zygote lives, like the code it imported)."""
    import awscli
    from botocore import loaders, xform_name

    roots = (awscli._awscli_data_path[-1], loaders.Loader.BUILTIN_DATA_PATH)
    load_file = loaders.JSONFileLoader._load_file
    methods = getattr(loaders, "_JSON_OPEN_METHODS", None)
    if isinstance(methods, dict) and _is(load_file, _LOAD_FILE):
        memo = {}
        loader = loaders.JSONFileLoader()
        for root in roots:
            bases = [os.path.join(root, name) for name in _TOP_FILES]
            for service in _SERVICES:
                d = os.path.join(root, service)
                if os.path.isdir(d):
                    for version in sorted(os.listdir(d)):
                        bases.extend(os.path.join(d, version, name) for name in _MODEL_FILES)
            for base in bases:
                for ext, open_method in methods.items():
                    data = load_file(loader, base + ext, open_method)
                    if data is not None:
                        memo[base + ext] = data
                        break
        for path, data in memo.items():
            if os.path.basename(path).startswith("service-2.") and isinstance(data.get("operations"), dict):
                for name in data["operations"]:
                    xform_name(name, "-")
                    xform_name(name, "_")

        def _load_file(self, full_path, open_method):
            # A child takes each file once, as it would parse it once.
            data = memo.pop(full_path, None)
            if data is None or not os.path.isfile(full_path):
                return load_file(self, full_path, open_method)
            loaders.logger.debug("Loading JSON file: %s", full_path)
            return data

        loaders.JSONFileLoader._load_file = _load_file

    # list_available_services, as instance_cache wraps it.
    wrapper = loaders.Loader.list_available_services
    cells = getattr(wrapper, "__closure__", None) or ()
    original = cells[0].cell_contents if len(cells) == 1 else None
    if getattr(wrapper, "__code__", None) is loaders.instance_cache(_warm).__code__ and _is(
        original, _LIST_AVAILABLE_SERVICES
    ):
        exists = loaders.JSONFileLoader.exists

        def scan(self, possible_path, type_name):
            # The body of the loop of list_available_services.
            services = set()
            possible_services = [d for d in os.listdir(possible_path) if os.path.isdir(os.path.join(possible_path, d))]
            for service_name in possible_services:
                full_dirname = os.path.join(possible_path, service_name)
                api_versions = os.listdir(full_dirname)
                for api_version in api_versions:
                    full_load_path = os.path.join(full_dirname, api_version, type_name)
                    if self.file_loader.exists(full_load_path):
                        services.add(service_name)
                        break
            return services

        loader = loaders.Loader(include_default_search_paths=False)
        listed = {}
        for root in roots:
            if os.path.isdir(root):
                for type_name in ("service-2", "paginators-1", "waiters-2", "endpoint-rule-set-1"):
                    listed[root, type_name] = frozenset(scan(loader, root, type_name))

        def list_available_services(self, type_name):
            if type(self.file_loader).exists is not exists:
                return original(self, type_name)
            services = set()
            for possible_path in self._potential_locations():
                known = listed.get((possible_path, type_name))
                services.update(known if known is not None else scan(self, possible_path, type_name))
            return sorted(services)

        loaders.Loader.list_available_services = loaders.instance_cache(list_available_services)


def _script(path):
    """Returns the code of the aws script at path, or of _SCRIPT."""
    if path:
        try:
            with open(path, "rb") as f:
                source = f.read()
            if source.startswith(b"#!") and b"python" in source.split(b"\n", 1)[0]:
                return compile(source, path, "exec", dont_inherit=True)
        except (OSError, SyntaxError, ValueError):
            pass
    return compile(_SCRIPT, path or "aws", "exec", dont_inherit=True)


class _Zygote:
    def __init__(self):
        self.buf = b""
        self.eof = False
        self.wake = None
        self.children = {}  # pid -> id
        self.pids = {}  # id -> pid

    def read(self, timeout):
        """Returns the next line of standard input, or None when none came
        within timeout seconds or a child exited."""
        import select

        while b"\n" not in self.buf:
            if self.eof:
                self.exit()
            fds = [0] if self.wake is None else [0, self.wake[0]]
            ready = select.select(fds, [], [], timeout)[0]
            if self.wake is not None and self.wake[0] in ready:
                try:
                    while os.read(self.wake[0], 512):
                        pass
                except BlockingIOError:
                    pass
            if 0 not in ready:
                return None
            data = os.read(0, 65536)
            self.eof = not data
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def exit(self):
        for pid in self.children:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        os._exit(0)

    def start(self):
        import json

        self.ppid = os.getppid()
        hello = json.loads(self.read(None))
        launch = {_fs(k): _fs(v) for k, v in hello["env"].items()}
        sentinel = hello.get("home") or ""
        script = hello.get("script") or ""
        del hello
        # What the interpreter changed in its environment as it started (PEP
        # 538 sets LC_CTYPE): a new process makes the same changes.
        self.startup = [(k, os.environ.get(k)) for k in sorted(set(os.environ) | set(launch))]
        self.startup = [(k, v) for k, v in self.startup if v != launch.get(k)]
        del launch
        if not script:
            candidate = os.path.join(os.path.dirname(sys.executable), "aws")
            if os.path.isfile(candidate):
                script = candidate
        self.argv0 = script or "aws"
        self.script = script
        self.code = _script(script)
        # "python -c" puts "" first on sys.path, "python script" the
        # directory of the script.
        if sys.path and sys.path[0] == "":
            if script:
                sys.path[0] = os.path.dirname(os.path.realpath(script))
            else:
                del sys.path[0]

        _lc_ctype_fixup()
        trace = _Trace(sentinel)
        with trace:
            import awscli.clidriver  # noqa: F401
            import awscli.handlers  # noqa: F401
        deps = set(trace.reads)
        self.writes = trace.writes
        self.original_dir = trace.original_dir
        self.home = None
        home_ok = True
        if sentinel:
            home = _Home(sentinel)
            # The environment is replaced in children.
            env = [os.environ._data, sys.modules[os.name].environ]
            home.scan([self.__dict__, self.startup, self.writes, trace.__dict__, trace.reads] + self.writes + env)
            del env
            problems = home.problems + ["%s was read" % p for p in trace.home_files]
            for _, v in self.writes:
                if v is not None and not home.replaceable(v):
                    problems.append("the environment has %r" % v)
            if problems:
                home_ok = False
                sys.stderr.write("awsclitest zygote: HOME cannot be replaced: %s\n" % "; ".join(problems[:5]))
                sys.stderr.flush()
            else:
                self.home = home
                deps.discard("HOME")
        deps = ["*"] if trace.all else sorted(deps)
        cwd = trace.cwd
        del trace
        _warm()

        import gc
        import signal

        self.sigint = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.wake = os.pipe()
        for fd in self.wake:
            os.set_blocking(fd, False)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.set_wakeup_fd(self.wake[1], warn_on_full_buffer=False)
        gc.collect()
        gc.freeze()
        _send({"ready": True, "deps": deps, "cwd": cwd, "home": home_ok})

    def serve(self):
        """Serves requests; returns one only in a forked child."""
        import json

        while True:
            self.reap()
            line = self.read(1.0)
            if os.getppid() != self.ppid:
                self.exit()
            if line is None:
                continue
            req = json.loads(line)
            if "cancel" in req:
                pid = self.pids.get(req["cancel"])
                if pid is not None:
                    os.kill(pid, 9)
                continue
            refusal = self.refuse(req)
            if refusal:
                _send(dict(refusal, id=req["id"]))
                continue
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                return req
            self.children[pid] = req["id"]
            self.pids[req["id"]] = pid

    def refuse(self, req):
        """Returns why req cannot run in a child, or None."""
        if not os.path.isdir(req["cwd"]):
            return {"error": "chdir %s: not a directory" % req["cwd"]}
        for k, v in req["env"]:
            if not k or "=" in k or "\0" in k + v:
                return {"fallback": "environment variable %r" % k}
        if self.home is not None:
            import site

            user_site = getattr(site, "USER_SITE", None)
            if site.ENABLE_USER_SITE and isinstance(user_site, str) and self.home.sentinel in user_site:
                env = {_fs(k): _fs(v) for k, v in req["env"]}
                if os.path.isdir(self.home.rehome(user_site, env)):
                    return {"fallback": "HOME has user site-packages"}
        return None

    def reap(self):
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            id_ = self.children.pop(pid, None)
            if id_ is not None:
                del self.pids[id_]
                _send({"id": id_, "code": os.waitstatus_to_exitcode(status)})

    def child(self, req):
        """Makes this forked process what a new aws process would be."""
        import signal

        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGINT, self.sigint)
            for fd in self.wake:
                os.close(fd)
            fds = [
                os.open(os.devnull, os.O_RDONLY),
                os.open(req["stdout"], os.O_WRONLY | os.O_TRUNC),
                os.open(req["stderr"], os.O_WRONLY | os.O_TRUNC),
            ]
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            os.environ.clear()
            for k, v in req["env"]:
                os.environ[_fs(k)] = _fs(v)
            for k, v in self.startup:
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            for k, v in self.writes:
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v if self.home is None else self.home.rehome(v, os.environ)
            os.chdir(req["cwd"])
            if self.original_dir:
                import multiprocessing.process

                try:
                    multiprocessing.process.ORIGINAL_DIR = os.path.abspath(os.getcwd())
                except OSError:
                    multiprocessing.process.ORIGINAL_DIR = None
            if self.home is not None:
                self.home.apply(os.environ)
            sys.argv = [self.argv0] + [_fs(a) for a in req["argv"]]
        except BaseException:
            import traceback

            traceback.print_exc()
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    def run_script(self):
        """Runs the aws script as __main__ and exits as the interpreter would,
        except that it does not tear the modules down."""
        import atexit
        import builtins
        import importlib.machinery
        import signal
        import threading
        import types

        main = types.ModuleType("__main__")
        main.__builtins__ = builtins
        main.__cached__ = None
        if self.script:
            main.__file__ = self.script
            main.__loader__ = importlib.machinery.SourceFileLoader("__main__", self.script)
        sys.modules["__main__"] = main
        status, interrupted = 0, False
        try:
            exec(self.code, main.__dict__)
        except SystemExit as e:
            status = _exit_status(e.code)
        except BaseException as e:
            tb = e.__traceback__
            while tb is not None and tb.tb_frame.f_code is not self.code:
                tb = tb.tb_next
            e.__traceback__ = tb
            sys.excepthook(type(e), e, tb)
            status, interrupted = 1, isinstance(e, KeyboardInterrupt)
        shutdown = getattr(threading, "_shutdown", None)
        if shutdown is not None:
            shutdown()
        atexit._run_exitfuncs()
        for f in (sys.stdout, sys.stderr):
            try:
                if f is not None and not f.closed:
                    f.flush()
            except Exception:
                if f is sys.stdout:
                    sys.unraisablehook(_Unraisable(sys.exc_info(), f))
                status = 120
        if interrupted:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGINT)
        os._exit(status)


class _Unraisable:
    def __init__(self, exc_info, obj):
        self.exc_type, self.exc_value, self.exc_traceback = exc_info
        self.err_msg = None
        self.object = obj


def _exit_status(code):
    """Returns the exit status for SystemExit(code), as the interpreter does."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if -(2**63) <= code < 2**63 else 255
    try:
        sys.stderr.write(str(code))
    except Exception:
        pass
    try:
        sys.stderr.write("\n")
    except Exception:
        pass
    return 1


def _main():
    z = _Zygote()
    try:
        z.start()
    except BaseException as e:
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        try:
            _send({"ready": False, "error": "%s: %s" % (type(e).__name__, e)})
        except OSError:
            pass
        os._exit(1)
    req = z.serve()
    z.child(req)
    del req
    z.run_script()


_main()
