"""Function tests across two processes: the test runs where the candidate cannot reach.

Sent into the sandbox with the runner (standard library only, Python >= 3.9).

A function test has two processes, started fresh for every test:
- the **candidate** process loads the solution and serves requests: look up a name, call a
  function, read an attribute, iterate. It never sees the test's code or expected values.
- the **evaluator** process runs the test (and the problem's test setup) with the real builtins
  and standard library. Every name the test takes from the solution is a proxy: calling it sends
  the arguments to the candidate as plain data and receives plain data back.

What crosses from the candidate is decoded strictly, by the evaluator, into real built-in values
(None, bool, int, float, complex, str, bytes, bytearray, list, tuple, dict, set, frozenset, the
standard library's Decimal, Fraction, deque, Counter, OrderedDict, namedtuple, range, dates and
times, and numpy arrays/scalars and pandas frames/series rebuilt from their values, dtypes and
shape with the evaluator's own numpy and pandas), so every comparison
a test makes runs the real types' code, never the candidate's `__eq__`. Anything else the
solution returns (an instance of its own class, a generator, a closure) stays in the candidate's
process as a handle: the evaluator's proxy forwards attribute reads, calls, iteration, indexing,
`len`, `in`, `bool`, `repr` to it and gets plain data back; two handles are equal only when they
are the same object (a handle is never compared by the solution's own `__eq__`).

Objects the test passes to the solution that are not plain data (a lambda, a test helper's graph
node) stay in the evaluator: the solution gets a proxy limited to their public interface (no
underscored attributes, no modules), so it can call, read, write, iterate and index them.
Arguments that are lists, dicts, sets or bytearrays are copied into the candidate and copied
back after the call when the solution changed them (in-place algorithms keep working).
"""

from __future__ import annotations

import base64
import builtins
import json
import os
import struct
import sys

MAX_MESSAGE = 256 << 20
MAX_DEPTH = 2000
_HEADER = struct.Struct(">I")
_ITER_BATCH = 64

# solution-side names may stand for these modules under another name
MODULE_ALIASES = {"np": "numpy", "pd": "pandas", "plt": "matplotlib.pyplot", "it": "itertools",
                  "ft": "functools", "op": "operator", "dt": "datetime", "cl": "collections"}


class ProtocolError(Exception):
    """What the other process sent is not a well-formed message."""


class ChannelClosed(Exception):
    pass


class ProgramGone(BaseException):
    """The candidate's process ended (or broke the protocol) while the test was waiting for it.

    A BaseException, so that a test's own `except Exception` does not swallow it."""


# --------------------------------------------------------------------------- framing

class Channel:
    def __init__(self, rfd: int, wfd: int):
        self.rfd, self.wfd = rfd, wfd

    def send(self, obj) -> None:
        data = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=True).encode("ascii")
        if len(data) > MAX_MESSAGE:
            raise ProtocolError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE}")
        view = memoryview(_HEADER.pack(len(data)) + data)
        while view:
            n = os.write(self.wfd, view)
            view = view[n:]

    def _read(self, n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = os.read(self.rfd, min(left, 1 << 20))
            if not chunk:
                raise ChannelClosed()
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def recv(self):
        (size,) = _HEADER.unpack(self._read(4))
        if size > MAX_MESSAGE:
            raise ProtocolError(f"message of {size} bytes exceeds {MAX_MESSAGE}")
        try:
            return json.loads(self._read(size).decode("ascii"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProtocolError(f"undecodable message: {exc}") from None


# --------------------------------------------------------------------------- plain data

_INT_LIMIT = 1 << 63


def _pairs_encode(items, enc, depth):
    return [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in items]


class Encoder:
    """Turns values into JSON-able plain data; `export(obj)` makes a handle for anything else."""

    def __init__(self, export):
        self.export = export

    def __call__(self, value, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ValueError("the value is nested too deeply to pass between processes")
        t = type(value)
        if value is None or t is bool or t is str:
            return value
        if t is int:
            return value if -_INT_LIMIT < value < _INT_LIMIT else {"i": format(value, "x")}
        if t is float:
            return value
        if t is list:
            return [self(v, depth + 1) for v in value]
        if t is tuple:
            return {"t": [self(v, depth + 1) for v in value]}
        if t is dict:
            return {"d": _pairs_encode(value.items(), self, depth)}
        if t is set:
            return {"s": [self(v, depth + 1) for v in value]}
        if t is frozenset:
            return {"fs": [self(v, depth + 1) for v in value]}
        if t is bytes:
            return {"b": base64.b64encode(value).decode("ascii")}
        if t is bytearray:
            return {"ba": base64.b64encode(bytes(value)).decode("ascii")}
        if t is complex:
            return {"c": [value.real, value.imag]}
        special = self._stdlib(value, depth)
        if special is not None:
            return special
        return self.export(value)

    def _stdlib(self, value, depth):
        import collections
        import decimal
        import fractions
        if isinstance(value, bool):
            return bool(value)
        if isinstance(value, collections.Counter):
            return {"ctr": _pairs_encode(dict.items(value), self, depth)}
        if isinstance(value, collections.OrderedDict):
            return {"od": _pairs_encode(dict.items(value), self, depth)}
        if isinstance(value, collections.deque):
            return {"dq": [self(v, depth + 1) for v in value]}
        if isinstance(value, decimal.Decimal):
            return {"dec": str(value)}
        import datetime as _dt
        if isinstance(value, _dt.datetime):
            return {"dt": value.isoformat()}
        if isinstance(value, _dt.date):
            return {"date": value.isoformat()}
        if isinstance(value, _dt.time):
            return {"tm": value.isoformat()}
        if isinstance(value, _dt.timedelta):
            return {"td": [value.days, value.seconds, value.microseconds]}
        if isinstance(value, fractions.Fraction):
            return {"fr": [self(value.numerator, depth + 1), self(value.denominator, depth + 1)]}
        if type(value) is range:
            return {"rg": [value.start, value.stop, value.step]}
        module = type(value).__module__ or ""
        if module.startswith("numpy") or module.startswith("pandas"):
            data = self._scientific(value, depth)
            if data is not None:
                return data
        fields = getattr(type(value), "_fields", None)
        if isinstance(value, tuple) and type(fields) is tuple and all(type(f) is str for f in fields):
            # a namedtuple keeps its field names: tests read them as attributes
            return {"nt": [type(value).__name__, list(fields), [self(v, depth + 1) for v in value]]}
        # subclasses of the plain types (defaultdict, namedtuple, an IntEnum...) cross as their base
        for base in (int, float, str, bytes, tuple, list, dict, set, frozenset):
            if isinstance(value, base):
                if base is int:
                    return self(int.__index__(value), depth)
                if base is float:
                    return float.__float__(value)
                if base is str:
                    return str.__str__(value)
                if base is dict:
                    return {"d": _pairs_encode(dict.items(value), self, depth)}
                return self(base(value), depth)
        return None


    def _scientific(self, value, depth):
        """numpy arrays and scalars, pandas frames and series: as their values, dtypes and shape."""
        import sys as _sys
        np = _sys.modules.get("numpy")
        if np is not None and isinstance(value, np.ndarray):
            if value.dtype.kind in "biufcmMSU?" and value.dtype.kind != "O":
                data = np.ascontiguousarray(value)
                return {"nd": [data.dtype.str, list(data.shape), base64.b64encode(data.tobytes()).decode("ascii")]}
            return {"nda": [list(value.shape), [self(v, depth + 1) for v in value.ravel().tolist()]]}
        if np is not None and isinstance(value, np.generic):
            if value.dtype.kind == "O":
                return None
            return {"npg": [value.dtype.str, self(value.item(), depth + 1)]}
        pd = _sys.modules.get("pandas")
        if pd is not None and isinstance(value, pd.DataFrame):
            return {"pdf": [[self(c, depth + 1) for c in value.columns], [self(i, depth + 1) for i in value.index],
                            [[self(v, depth + 1) for v in row] for row in value.itertuples(index=False, name=None)],
                            [str(t) for t in value.dtypes], self(value.index.name, depth + 1)]}
        if pd is not None and isinstance(value, pd.Series):
            return {"pds": [self(value.name, depth + 1), [self(i, depth + 1) for i in value.index],
                            [self(v, depth + 1) for v in value.tolist()], str(value.dtype),
                            self(value.index.name, depth + 1)]}
        return None


class Decoder:
    """Plain data back into values; handles become proxies (or the receiver's own objects)."""

    def __init__(self, handle):
        self.handle = handle

    def __call__(self, obj, depth: int = 0):
        if depth > MAX_DEPTH:
            raise ProtocolError("value nested too deeply")
        t = type(obj)
        if obj is None or t is bool or t is str or t is int or t is float:
            return obj
        if t is list:
            return [self(v, depth + 1) for v in obj]
        if t is not dict or len(obj) != 1:
            raise ProtocolError(f"not plain data: {str(obj)[:80]}")
        (tag, v), = obj.items()
        try:
            return self._tagged(tag, v, depth)
        except ProtocolError:
            raise
        except (TypeError, ValueError, KeyError, ArithmeticError) as exc:
            raise ProtocolError(f"malformed {tag!r} value: {exc}") from None

    def _scientific(self, tag, v, depth):
        """Rebuilt with this process's own numpy / pandas (they must be importable here)."""
        try:
            import numpy as np
        except ImportError:
            raise ProtocolError("a numpy value, and numpy is not installed for the test") from None
        if tag == "nd":
            dtype, shape, data = v
            dt = np.dtype(str(dtype))
            if dt.kind == "O" or dt.hasobject or type(shape) is not list or not all(type(x) is int and x >= 0 for x in shape):
                raise ProtocolError("bad array")
            raw = base64.b64decode(data, validate=True)
            count = 1
            for x in shape:
                count *= x
            if len(raw) != count * dt.itemsize:
                raise ProtocolError("array size does not match its shape")
            return np.frombuffer(raw, dtype=dt).reshape(shape).copy()
        if tag == "nda":
            shape, items = v
            values = self._seq(items, depth)
            out = np.empty(len(values), dtype=object)
            out[:] = values
            return out.reshape([int(x) for x in shape])
        if tag == "npg":
            dtype, item = v
            dt = np.dtype(str(dtype))
            if dt.kind == "O":
                raise ProtocolError("bad numpy scalar")
            return dt.type(self(item, depth + 1))
        try:
            import pandas as pd
        except ImportError:
            raise ProtocolError("a pandas value, and pandas is not installed for the test") from None
        if tag == "pdf":
            columns, index, rows, dtypes, index_name = v
            frame = pd.DataFrame(self._seq(rows, depth), index=self._seq(index, depth), columns=self._seq(columns, depth))
            if len(dtypes) == frame.shape[1]:
                for col, dtype in zip(frame.columns, dtypes):
                    try:
                        frame[col] = frame[col].astype(str(dtype))
                    except (TypeError, ValueError):
                        pass
            frame.index.name = self(index_name, depth + 1)
            return frame
        name, index, data, dtype, index_name = v
        series = pd.Series(self._seq(data, depth), index=self._seq(index, depth), name=self(name, depth + 1))
        try:
            series = series.astype(str(dtype))
        except (TypeError, ValueError):
            pass
        series.index.name = self(index_name, depth + 1)
        return series

    def _seq(self, v, depth):
        if type(v) is not list:
            raise ProtocolError("expected a list")
        return [self(x, depth + 1) for x in v]

    def _pairs(self, v, depth):
        if type(v) is not list or not all(type(p) is list and len(p) == 2 for p in v):
            raise ProtocolError("expected key/value pairs")
        return [(self(k, depth + 1), self(x, depth + 1)) for k, x in v]

    def _tagged(self, tag, v, depth):
        if tag == "i":
            if type(v) is not str or len(v) > 200_000:
                raise ProtocolError("bad big integer")
            return int(v, 16)
        if tag == "t":
            return tuple(self._seq(v, depth))
        if tag == "d":
            return dict(self._pairs(v, depth))
        if tag == "s":
            return set(self._seq(v, depth))
        if tag == "fs":
            return frozenset(self._seq(v, depth))
        if tag == "b":
            return base64.b64decode(v, validate=True)
        if tag == "ba":
            return bytearray(base64.b64decode(v, validate=True))
        if tag == "c":
            re_, im = v
            if type(re_) not in (int, float) or type(im) not in (int, float):
                raise ProtocolError("bad complex")
            return complex(re_, im)
        if tag in ("ctr", "od"):
            import collections
            cls = collections.Counter if tag == "ctr" else collections.OrderedDict
            out = cls()
            for k, x in self._pairs(v, depth):
                out[k] = x
            return out
        if tag == "dq":
            import collections
            return collections.deque(self._seq(v, depth))
        if tag == "dec":
            import decimal
            if type(v) is not str or len(v) > 10_000:
                raise ProtocolError("bad decimal")
            return decimal.Decimal(v)
        if tag in ("dt", "date", "tm"):
            import datetime as _dt
            if type(v) is not str or len(v) > 64:
                raise ProtocolError("bad date or time")
            cls = {"dt": _dt.datetime, "date": _dt.date, "tm": _dt.time}[tag]
            return cls.fromisoformat(v)
        if tag == "td":
            import datetime as _dt
            if type(v) is not list or len(v) != 3 or not all(type(x) is int for x in v):
                raise ProtocolError("bad timedelta")
            return _dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2])
        if tag == "fr":
            import fractions
            n, d = self._seq(v, depth)
            if type(n) is not int or type(d) is not int:
                raise ProtocolError("bad fraction")
            return fractions.Fraction(n, d)
        if tag == "nt":
            name, fields, values = v
            if type(name) is not str or type(fields) is not list or type(values) is not list \
                    or len(fields) != len(values) or len(fields) > 1000:
                raise ProtocolError("bad named tuple")
            return _named_tuple(name, tuple(fields))(*self._seq(values, depth))
        if tag in ("nd", "nda", "npg", "pdf", "pds"):
            return self._scientific(tag, v, depth)
        if tag == "rg":
            a, b, c = v
            if not all(type(x) is int for x in (a, b, c)):
                raise ProtocolError("bad range")
            return range(a, b, c)
        return self.handle(tag, v)


_NAMED: dict = {}
SERVING_CPU_S = 0.0005  # CPU the candidate's side spends decoding and answering one request


def _cpu_ns(pid: int | None) -> int | None:
    """CPU time of all of a process's threads so far, from the kernel (None when unreadable)."""
    if pid is None:
        return None
    try:
        total = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as fh:
                total += int(fh.read().split()[0])
        return total
    except (OSError, ValueError, IndexError):
        return None


import time as _time  # noqa: E402
_REAL_CLOCK = _time.perf_counter


def _named_tuple(name: str, fields: tuple):
    """A real namedtuple class (standard library), made here from the names alone."""
    import collections
    import keyword
    if not all(type(f) is str and f.isidentifier() and not keyword.iskeyword(f) and not f.startswith("_")
               for f in fields) or len(set(fields)) != len(fields):
        raise ProtocolError("bad named tuple fields")
    name = name if name.isidentifier() and not keyword.iskeyword(name) else "NamedTuple"
    cls = _NAMED.get((name, fields))
    if cls is None:
        cls = _NAMED[(name, fields)] = collections.namedtuple(name, fields)
    return cls


# --------------------------------------------------------------------------- the peer

class Peer:
    """One end of the request/reply channel. Either side may serve the other's requests while
    it waits for its own reply (a callback during a call)."""

    def __init__(self, channel: Channel):
        self.channel = channel
        self.objects: dict[int, object] = {}  # our objects the other side holds handles to
        self._ids: dict[int, int] = {}  # id(obj) -> handle id
        self._proxies: dict[int, object] = {}  # the other side's handles we hold
        self.encode = Encoder(self.export)
        self.decode = Decoder(self.import_handle)

    # handles to our objects
    def export(self, obj):
        ref = self.reference(obj)
        if ref is not None:  # the other side's own object, held here by proxy: name it
            return ref
        key = id(obj)
        hid = self._ids.get(key)
        if hid is None:
            hid = len(self.objects) + 1
            self.objects[hid] = obj
            self._ids[key] = hid
        return self.describe_handle(hid, obj)

    def describe_handle(self, hid: int, obj) -> dict:
        raise NotImplementedError

    def reference(self, obj) -> dict | None:
        raise NotImplementedError

    def import_handle(self, tag, v):
        raise NotImplementedError

    def own(self, hid) -> object:
        if type(hid) is not int or hid not in self.objects:
            raise ProtocolError(f"unknown handle {hid!r}")
        return self.objects[hid]

    # requests
    def request(self, msg: dict):
        self.channel.send({"req": msg})
        while True:
            reply = self.channel.recv()
            if type(reply) is not dict:
                raise ProtocolError("a reply must be an object")
            if "req" in reply:  # the other side needs something from us first
                self.channel.send(self.serve(reply["req"]))
                continue
            return reply

    def serve(self, req) -> dict:
        raise NotImplementedError


def _exception_info(exc: BaseException, skip_file: str | None = None) -> dict:
    import traceback
    try:
        message = str(exc)
    except BaseException:
        message = "(unprintable)"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if f.filename != skip_file and not f.filename.startswith("<orps-")]
    try:
        prefix = os.getcwd() + os.sep
    except OSError:
        prefix = None
    for f in frames:  # the program's own files by their own name, never a sandbox path
        if prefix and f.filename.startswith(prefix):
            f.filename = f.filename[len(prefix):]
    text = "".join(traceback.format_list(frames[-12:])) + "".join(traceback.format_exception_only(type(exc), exc))
    bases = [c.__name__ for c in type(exc).__mro__ if getattr(builtins, c.__name__, None) is c]
    return {"type": type(exc).__name__, "bases": bases, "message": message[:2000],
            "traceback": "Traceback (most recent call last):\n" + text[-3000:]}


# --------------------------------------------------------------------------- candidate side

class _TestObject:
    """A test-side object, seen from the solution: its public interface, served by the test."""

    __slots__ = ("_peer", "_hid", "_info")

    def __init__(self, peer, hid, info):
        object.__setattr__(self, "_peer", peer)
        object.__setattr__(self, "_hid", hid)
        object.__setattr__(self, "_info", info)

    def _ask(self, op, **kw):
        reply = self._peer.request({"op": op, "eh": [self._hid], **kw})
        return self._peer.result(reply)

    def __getattr__(self, name):
        return self._ask("getattr", name=name)

    def __setattr__(self, name, value):
        self._ask("setattr", name=name, value=self._peer.encode(value))

    def __call__(self, *args, **kwargs):
        return self._ask("call", args=[self._peer.encode(a) for a in args],
                         kwargs={k: self._peer.encode(v) for k, v in kwargs.items()})

    def __iter__(self):
        return self._ask("iter")

    def __next__(self):
        return self._ask("next")

    def __len__(self):
        return self._ask("len")

    def __getitem__(self, key):
        return self._ask("getitem", key=self._peer.encode(key))

    def __setitem__(self, key, value):
        self._ask("setitem", key=self._peer.encode(key), value=self._peer.encode(value))

    def __contains__(self, item):
        return self._ask("contains", item=self._peer.encode(item))

    def __bool__(self):
        return self._ask("bool")

    def __repr__(self):
        return self._ask("repr")

    def __str__(self):
        return self._ask("str")

    # comparisons and hashing run the test's own methods, in the test's process
    def __eq__(self, other):
        return self is other or self._ask("cmp", how="eq", other=self._peer.encode(other))

    def __ne__(self, other):
        return not self.__eq__(other)

    def __lt__(self, other):
        return self._ask("cmp", how="lt", other=self._peer.encode(other))

    def __le__(self, other):
        return self._ask("cmp", how="le", other=self._peer.encode(other))

    def __gt__(self, other):
        return self._ask("cmp", how="gt", other=self._peer.encode(other))

    def __ge__(self, other):
        return self._ask("cmp", how="ge", other=self._peer.encode(other))

    def __hash__(self):
        return self._ask("hash")


class CandidatePeer(Peer):
    """The solution's side: loads it, then answers the evaluator."""

    def __init__(self, channel, namespace):
        super().__init__(channel)
        self.ns = namespace
        self._spent = 0.0

    def describe_handle(self, hid, obj):
        import types
        if isinstance(obj, types.ModuleType):
            return {"mod": [hid, obj.__name__]}
        if isinstance(obj, type) and issubclass(obj, BaseException):
            bases = [c.__name__ for c in obj.__mro__ if getattr(builtins, c.__name__, None) is c]
            return {"exc": [hid, obj.__name__, bases]}
        kind = "callable" if callable(obj) else "object"
        return {"ch": [hid, kind, type(obj).__name__]}

    def reference(self, obj):
        return {"eh": [obj._hid]} if type(obj) is _TestObject else None

    def import_handle(self, tag, v):
        if type(v) is not list or not v or type(v[0]) is not int:
            raise ProtocolError(f"malformed handle {v!r}")
        if tag == "ch":
            return self.own(v[0])
        if tag == "eh":
            proxy = self._proxies.get(v[0])
            if proxy is None:
                proxy = self._proxies[v[0]] = _TestObject(self, v[0], v[1:])
            return proxy
        if tag == "ref":  # a builtin the test passed (a key function such as len)
            obj = getattr(builtins, v, None) if type(v) is str and not v.startswith("_") else None
            if obj is None:
                raise ProtocolError(f"unknown builtin {v!r}")
            return obj
        raise ProtocolError(f"unknown tag {tag!r}")

    def result(self, reply):
        if "raise" in reply:
            info = reply["raise"]
            base = getattr(builtins, info.get("type", ""), None)
            if not (isinstance(base, type) and issubclass(base, BaseException)):
                base = RuntimeError
            raise base(info.get("message", ""))
        return self.decode(reply.get("ok"))

    def serve(self, req) -> dict:
        self._spent = 0.0
        reply = self._serve(req)
        reply["t"] = self._spent  # the time the solution's own code took (the test's clock uses it)
        return reply

    def _serve(self, req) -> dict:
        try:
            op = req.get("op")
            if op == "get":
                out = {}
                for name in req.get("names", []):
                    if type(name) is str and name in self.ns:
                        out[name] = self.encode(self.ns[name])
                return {"ok": {"d": [[k, v] for k, v in out.items()]}}
            target = self.decode({"ch": req.get("ch")})
            if op == "call":
                args = [self.decode(a) for a in req.get("args", [])]
                kwargs = {k: self.decode(v) for k, v in (req.get("kwargs") or {}).items()}
                before = {i: json.dumps(self.encode(a)) for i, a in enumerate(args)
                          if type(a) in (list, dict, set, bytearray)}
                before.update({k: json.dumps(self.encode(a)) for k, a in kwargs.items()
                               if type(a) in (list, dict, set, bytearray)})
                t0 = _REAL_CLOCK()
                value = target(*args, **kwargs)
                self._spent = _REAL_CLOCK() - t0
                if hasattr(type(value), "__await__"):  # an async def entry point
                    import asyncio
                    value = asyncio.run(_await(value))
                reply = {"ok": self.encode(value)}
                changed = {}
                for key, old in before.items():
                    arg = args[key] if isinstance(key, int) else kwargs[key]
                    new = self.encode(arg)
                    if json.dumps(new) != old:
                        changed[str(key)] = new
                if changed:
                    reply["changed"] = changed
                return reply
            if op == "getattr":
                t0 = _REAL_CLOCK()
                value = getattr(target, req["name"])
                self._spent = _REAL_CLOCK() - t0
                return {"ok": self.encode(value)}
            if op == "setattr":
                setattr(target, req["name"], self.decode(req["value"]))
                return {"ok": None}
            if op == "iter":
                return {"ok": self.encode(iter(target))}
            if op == "next":
                items = []
                try:
                    for _ in range(int(req.get("n", 1))):
                        items.append(self.encode(next(target)))
                except StopIteration:
                    return {"ok": items, "stop": True}
                except BaseException as exc:
                    if items:
                        return {"ok": items, "raise": _exception_info(exc)}
                    raise
                return {"ok": items}
            if op == "len":
                return {"ok": len(target)}
            if op == "getitem":
                return {"ok": self.encode(target[self.decode(req["key"])])}
            if op == "setitem":
                target[self.decode(req["key"])] = self.decode(req["value"])
                return {"ok": None}
            if op == "contains":
                return {"ok": bool(self.decode(req["item"]) in target)}
            if op == "bool":
                return {"ok": bool(target)}
            if op in ("repr", "str"):
                text = repr(target) if op == "repr" else str(target)
                return {"ok": str(text)[:2000]}
            raise ProtocolError(f"unknown request {op!r}")
        except ProtocolError:
            raise
        except SystemExit as exc:
            raise ProgramGone(f"the program called exit ({exc.code!r})") from None
        except BaseException as exc:
            return {"raise": _exception_info(exc)}


async def _await(value):
    return await value


def serve_candidate(solution_code, namespace_name: str, module_name, in_fd: int, out_fd: int) -> None:
    """The candidate process: load the solution, then answer requests until the test ends."""
    channel = Channel(in_fd, out_fd)
    try:
        if module_name:
            import importlib
            module = importlib.import_module(module_name)
            ns = vars(module)
        else:
            ns = {"__name__": namespace_name, "__builtins__": builtins}
            exec(solution_code, ns)
    except SystemExit as exc:
        channel.send({"load_error": {"type": "SystemExit", "bases": ["SystemExit", "BaseException"],
                                     "message": f"the program called exit ({exc.code!r}) while loading",
                                     "traceback": ""}})
        return
    except BaseException as exc:
        channel.send({"load_error": _exception_info(exc)})
        return
    peer = CandidatePeer(channel, ns)
    channel.send({"ready": True})
    while True:
        try:
            msg = channel.recv()
        except ChannelClosed:
            return
        if type(msg) is not dict or type(msg.get("req")) is not dict:
            return
        channel.send(peer.serve(msg["req"]))


# --------------------------------------------------------------------------- evaluator side

class CandidateError(Exception):
    """Stands for an exception class of the solution's that has no builtin counterpart."""


class _Remote:
    """A value that stays in the candidate's process; every use asks it for plain data."""

    __slots__ = ("_peer", "_hid", "_kind", "_type", "_buffer", "_done", "_pending")

    def __init__(self, peer, hid, kind, type_name):
        object.__setattr__(self, "_peer", peer)
        object.__setattr__(self, "_hid", hid)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_buffer", None)
        object.__setattr__(self, "_done", False)
        object.__setattr__(self, "_pending", None)

    def _ask(self, op, **kw):
        return self._peer.call_remote({"op": op, "ch": [self._hid], **kw})

    def __call__(self, *args, **kwargs):
        return self._peer.invoke(self._hid, args, kwargs)

    def __getattr__(self, name):
        return self._ask("getattr", name=name)

    def __setattr__(self, name, value):
        self._ask("setattr", name=name, value=self._peer.encode(value))

    def __iter__(self):
        return self._ask("iter")

    def __next__(self):
        buf = self._buffer
        if not buf:
            if self._pending is not None:
                pending = self._pending
                object.__setattr__(self, "_pending", None)
                self._peer.raise_from(pending)
            if self._done:
                raise StopIteration
            reply = self._peer.request({"op": "next", "ch": [self._hid], "n": _ITER_BATCH})
            if "raise" in reply and not reply.get("ok"):
                self._peer.raise_from(reply["raise"])
            items = reply.get("ok")
            if type(items) is not list:
                raise ProgramGone("the program broke the test protocol (iteration)")
            try:
                buf = [self._peer.decode(x) for x in items]
            except ProtocolError as exc:
                raise ProgramGone(f"the program sent a value that is not plain data: {exc}") from None
            object.__setattr__(self, "_buffer", buf)
            if reply.get("stop"):
                object.__setattr__(self, "_done", True)
            if "raise" in reply:  # items first, then the exception that ended the iteration
                object.__setattr__(self, "_pending", reply["raise"])
                object.__setattr__(self, "_done", True)
            if not buf:
                raise StopIteration
        return buf.pop(0)

    def __len__(self):
        return self._ask("len")

    def __getitem__(self, key):
        return self._ask("getitem", key=self._peer.encode(key))

    def __setitem__(self, key, value):
        self._ask("setitem", key=self._peer.encode(key), value=self._peer.encode(value))

    def __contains__(self, item):
        return self._ask("contains", item=self._peer.encode(item))

    def __bool__(self):
        return bool(self._ask("bool"))

    def __repr__(self):
        try:
            text = self._ask("repr")
        except BaseException:
            text = "?"
        return f"<{self._type} object of the solution: {str(text)[:300]}>"

    def __str__(self):
        return str(self._ask("str"))

    def __eq__(self, other):
        # never the solution's own __eq__: a handle equals only itself
        return self is other

    def __ne__(self, other):
        return self is not other

    def __hash__(self):
        return hash(("orps-remote", self._hid))


class EvaluatorPeer(Peer):
    def __init__(self, channel):
        super().__init__(channel)
        self.exceptions: dict[str, type] = {}
        self.stats = {"calls": 0, "objects": 0, "test_objects": 0}
        self.transport_credit = 0.0
        self.candidate_pid: int | None = None
        self._pending: list = []  # requests made, not yet settled (callbacks nest them)
        self._entered: list = []  # when an operation began, before its arguments were encoded

    def install_clocks(self) -> None:
        """time.time, perf_counter and monotonic (and their _ns forms) without the transport."""
        import time
        real = {name: getattr(time, name) for name in ("time", "perf_counter", "monotonic")}
        for name, fn in real.items():
            setattr(time, name, lambda fn=fn: fn() - self.transport_credit)
            setattr(time, name + "_ns", lambda fn=fn: int((fn() - self.transport_credit) * 1e9))

    # what the candidate may hold of ours: a proxy to a test object, or a builtin by name
    def describe_handle(self, hid, obj):
        if getattr(builtins, getattr(obj, "__name__", "") or "", None) is obj and callable(obj):
            del self.objects[hid]
            self._ids.pop(id(obj), None)
            return {"ref": obj.__name__}
        self.stats["test_objects"] += 1
        return {"eh": [hid, type(obj).__name__]}

    def reference(self, obj):
        return {"ch": [obj._hid]} if type(obj) is _Remote else None

    def import_handle(self, tag, v):
        if tag == "eh":
            if type(v) is not list or not v:
                raise ProtocolError(f"malformed handle {v!r}")
            return self.own(v[0])
        if tag in ("ch", "mod", "exc"):
            if type(v) is not list or not v or type(v[0]) is not int:
                raise ProtocolError(f"malformed handle {v!r}")
            hid = v[0]
            if tag == "exc":
                return self.mirror(str(v[1]) if len(v) > 1 else "Error", v[2] if len(v) > 2 else [])
            proxy = self._proxies.get(hid)
            if proxy is None:
                kind = v[1] if len(v) > 1 and type(v[1]) is str else "object"
                type_name = str(v[2])[:100] if len(v) > 2 else "object"
                if tag == "mod":
                    kind, type_name = "module", str(v[1])[:200] if len(v) > 1 else ""
                proxy = self._proxies[hid] = _Remote(self, hid, kind, type_name)
                if kind == "object":
                    self.stats["objects"] += 1
            return proxy
        raise ProtocolError(f"unknown tag {tag!r}")

    def mirror(self, name: str, bases) -> type:
        """A class standing for one of the solution's exception classes, by name."""
        name = name if name.isidentifier() else "SolutionError"
        cls = self.exceptions.get(name)
        if cls is None:
            base = Exception
            for b in bases if type(bases) is list else []:
                cand = getattr(builtins, b, None) if type(b) is str else None
                if isinstance(cand, type) and issubclass(cand, BaseException) and cand is not BaseException:
                    if not issubclass(cand, (SystemExit, KeyboardInterrupt, GeneratorExit)):
                        base = cand
                        break
            cls = self.exceptions[name] = type(name, (base,), {"__module__": "solution"})
        return cls

    def raise_from(self, info):
        if type(info) is not dict:
            raise ProtocolError("malformed exception")
        name = str(info.get("type", "Exception"))
        builtin = getattr(builtins, name, None)
        if isinstance(builtin, type) and issubclass(builtin, Exception) and name == builtin.__name__:
            cls = builtin
        else:
            cls = self.mirror(name, info.get("bases") or [])
        try:
            exc = cls(str(info.get("message", "")))
        except Exception:
            exc = CandidateError(str(info.get("message", "")))
        exc._orps_remote = {"type": name, "message": str(info.get("message", ""))[:2000],
                            "traceback": str(info.get("traceback", ""))[-4000:]}
        raise exc

    def checked(self, reply, allow_stop=False):
        if "raise" in reply and not (allow_stop and reply.get("ok")):
            self.raise_from(reply["raise"])
        if "ok" not in reply:
            raise ProtocolError("a reply has neither a value nor an exception")
        return reply["ok"]

    def request(self, msg):
        """One request; the whole exchange (encoding, the pipe, decoding) is kept off the test's
        clock except what the program computed: the time it reports, or the kernel's count of
        its CPU time less what serving a request costs, whichever is more (so a program lying
        about its time gains at most that much per request)."""
        t0 = self._entered.pop() if self._entered else _REAL_CLOCK()
        cpu0 = _cpu_ns(self.candidate_pid)
        try:
            reply = super().request(msg)
            self._pending.append((t0, cpu0, reply.get("t") if type(reply) is dict else None))
            return reply
        except (ChannelClosed, OSError):
            raise ProgramGone("the program's process ended during the test") from None
        except ProtocolError as exc:
            raise ProgramGone(f"the program broke the test protocol: {exc}") from None

    def settle(self) -> None:
        """After a request's value is decoded: credit the transport to the test's clock."""
        if not self._pending:
            return
        t0, cpu0, spent = self._pending.pop()
        cpu1 = _cpu_ns(self.candidate_pid)
        wall = _REAL_CLOCK() - t0
        if type(spent) in (int, float) and 0 <= spent <= wall and cpu0 is not None and cpu1 is not None:
            cpu = (cpu1 - cpu0) / 1e9 - SERVING_CPU_S
            self.transport_credit += max(0.0, wall - max(spent, cpu))

    def call_remote(self, msg):
        reply = self.request(msg)
        try:
            return self.decode(self.checked(reply))
        except ProtocolError as exc:
            raise ProgramGone(f"the program sent a value that is not plain data: {exc}") from None
        finally:
            self.settle()

    def invoke(self, hid, args, kwargs):
        self._entered.append(_REAL_CLOCK())
        self.stats["calls"] += 1
        enc_args = [self.encode(a) for a in args]
        enc_kwargs = {str(k): self.encode(v) for k, v in kwargs.items()}
        reply = self.request({"op": "call", "ch": [hid], "args": enc_args, "kwargs": enc_kwargs})
        try:
            value = self.decode(self.checked(reply))
            changed = reply.get("changed") or {}
            if type(changed) is not dict:
                raise ProtocolError("malformed changed arguments")
            for key, enc in changed.items():
                target = args[int(key)] if key.isdigit() else kwargs.get(key)
                if target is None:
                    continue
                _copy_back(target, self.decode(enc))
        except ProtocolError as exc:
            raise ProgramGone(f"the program sent a value that is not plain data: {exc}") from None
        finally:
            self.settle()
        return value

    # the candidate asks about a test object it was given
    def serve(self, req) -> dict:
        import types
        try:
            if type(req) is not dict:
                raise ProtocolError("a request must be an object")
            op = req.get("op")
            target = self.decode({"eh": req.get("eh")})
            name = req.get("name")
            if name is not None and (type(name) is not str or name.startswith("_")):
                return {"raise": {"type": "AttributeError", "bases": ["AttributeError"],
                                  "message": f"{name!r}: only public attributes of a test's objects are reachable"}}
            if op == "getattr":
                value = getattr(target, name)
                if isinstance(value, (types.ModuleType, types.FrameType, types.CodeType)):
                    raise AttributeError(f"{name!r} is not available to the program")
                return {"ok": self.encode(value)}
            if op == "setattr":
                setattr(target, name, self.decode(req["value"]))
                return {"ok": None}
            if op == "call":
                args = [self.decode(a) for a in req.get("args", [])]
                kwargs = {str(k): self.decode(v) for k, v in (req.get("kwargs") or {}).items()}
                return {"ok": self.encode(target(*args, **kwargs))}
            if op == "iter":
                return {"ok": self.encode(iter(target))}
            if op == "next":
                return {"ok": self.encode(next(target))}
            if op == "len":
                return {"ok": len(target)}
            if op == "getitem":
                return {"ok": self.encode(target[self.decode(req["key"])])}
            if op == "setitem":
                target[self.decode(req["key"])] = self.decode(req["value"])
                return {"ok": None}
            if op == "contains":
                return {"ok": bool(self.decode(req["item"]) in target)}
            if op == "bool":
                return {"ok": bool(target)}
            if op == "cmp":
                import operator
                how = {"eq": operator.eq, "lt": operator.lt, "le": operator.le, "gt": operator.gt,
                       "ge": operator.ge}.get(req.get("how"))
                if how is None:
                    raise ProtocolError("bad comparison")
                return {"ok": bool(how(target, self.decode(req.get("other"))))}
            if op == "hash":
                return {"ok": hash(target)}
            if op in ("repr", "str"):
                return {"ok": (repr(target) if op == "repr" else str(target))[:2000]}
            raise ProtocolError(f"unknown request {op!r}")
        except ProtocolError as exc:
            raise ProgramGone(f"the program broke the test protocol: {exc}") from None
        except Exception as exc:
            return {"raise": _exception_info(exc, __file__ if "__file__" in globals() else None)}


def _copy_back(target, new) -> None:
    if type(target) is list and type(new) is list:
        target[:] = new
    elif type(target) is dict and type(new) is dict:
        target.clear()
        target.update(new)
    elif type(target) is set and type(new) is set:
        target.clear()
        target.update(new)
    elif type(target) is bytearray and type(new) is bytearray:
        target[:] = new


class _ModuleImporter:
    """`import MODULE` / `from MODULE import f` in a test gives the solution's module, by proxy."""

    def __init__(self, name, module):
        self.name, self.module = name, module

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name:
            return None
        import importlib.util
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return self.module

    def exec_module(self, module):
        pass


def _referenced_names(code) -> set[str]:
    names = set(code.co_names) | set(getattr(code, "co_varnames", ()))
    for const in code.co_consts:
        if hasattr(const, "co_names"):
            names |= _referenced_names(const)
    return names


def evaluate(test_code, setup_code, module_name, entry_point, in_fd: int, out_fd: int,
             candidate_pid: int | None = None):
    """The evaluator process: run the test against the candidate; returns (outcome, stats).

    `outcome` is None when the test passed, else `describe(exc)` of what stopped it."""
    import types
    channel = Channel(in_fd, out_fd)
    peer = EvaluatorPeer(channel)
    try:
        first = channel.recv()
    except (ChannelClosed, OSError):
        return _gone("the program's process ended while loading"), peer.stats
    except ProtocolError as exc:
        return _gone(f"the program broke the test protocol: {exc}"), peer.stats
    if type(first) is not dict or not (first.get("ready") is True or "load_error" in first):
        return _gone("the program broke the test protocol at start"), peer.stats
    if "load_error" in first:
        try:
            peer.raise_from(first["load_error"])
        except ProtocolError:
            return _gone("the program broke the test protocol at start"), peer.stats
        except BaseException as exc:
            return describe(exc), peer.stats

    ns = {"__name__": "__main__", "__builtins__": builtins}
    peer.candidate_pid = candidate_pid
    peer.install_clocks()
    try:
        if module_name:
            remote_module = types.ModuleType(module_name)

            class _Lazy(types.ModuleType):
                def __getattr__(self, name):
                    if name.startswith("__"):
                        raise AttributeError(name)
                    got = _fetch(peer, [name])
                    if name not in got:
                        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
                    setattr(self, name, got[name])
                    return got[name]

            remote_module.__class__ = _Lazy
            sys.modules.pop(module_name, None)
            sys.meta_path.insert(0, _ModuleImporter(module_name, remote_module))
        else:
            wanted = set()
            for code in (setup_code, test_code):
                if code is not None:
                    wanted |= _referenced_names(code)
            wanted = {n for n in wanted if not n.startswith("__")
                      and (n == entry_point or not hasattr(builtins, n))}
            for name, value in _fetch(peer, sorted(wanted)).items():
                if isinstance(value, _Remote) and value._kind == "module":
                    # a module the solution imported: the test gets the real one, imported here
                    real = _real_module(name, value)
                    if real is not None:
                        ns[name] = real
                    continue
                ns[name] = value
        ns["_OrpsAssertion"] = _OrpsAssertion
        if setup_code is not None:
            exec(setup_code, ns)
        exec(test_code, ns)
    except ProgramGone as exc:
        return _gone(str(exc)), peer.stats
    except BaseException as exc:
        return describe(exc), peer.stats
    return None, peer.stats


def _fetch(peer, names):
    if not names:
        return {}
    reply = peer.request({"op": "get", "names": list(names)})
    try:
        got = peer.decode(peer.checked(reply))
    except ProtocolError as exc:
        raise ProgramGone(f"the program sent a value that is not plain data: {exc}") from None
    if type(got) is not dict:
        raise ProgramGone("the program broke the test protocol (names)")
    return {k: v for k, v in got.items() if type(k) is str}


def _real_module(name, remote):
    import importlib
    claimed = remote._type
    if claimed != name and MODULE_ALIASES.get(name) != claimed:
        return None  # a name bound to another module than its own: not resolved for the test
    try:
        return importlib.import_module(claimed)
    except Exception:
        return None


def _gone(why: str) -> dict:
    return {"type": "ProgramExited", "message": why, "gone": True}


# --------------------------------------------------------------------------- assertions

import ast  # noqa: E402

_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in"}


class _AssertRewriter(ast.NodeTransformer):
    """`assert L op R` -> evaluate both sides once, raise _OrpsAssertion(L, R, op, ...) on failure.

    Only single comparisons are rewritten; any other assert keeps Python's own semantics."""

    def __init__(self, source: str):
        self.source = source
        self.count = 0
        self._lines = None

    def segment(self, node) -> str | None:
        """`ast.get_source_segment`, with the source split once (it splits it on every call,
        which made a test of many asserts quadratic to compile)."""
        import io
        if self._lines is None:
            self._lines = io.StringIO(self.source, newline="").readlines()
        try:
            if node.end_lineno is None or node.end_col_offset is None:
                return None
            first, last = node.lineno - 1, node.end_lineno - 1
            start, end = node.col_offset, node.end_col_offset
        except AttributeError:
            return None
        lines = self._lines
        if last >= len(lines):
            return None
        if first == last:
            return lines[first].encode()[start:end].decode()
        head = lines[first].encode()[start:].decode()
        tail = lines[last].encode()[:end].decode()
        return "".join([head, *lines[first + 1:last], tail])

    def visit_Assert(self, node: ast.Assert):
        test = node.test
        if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPS):
            return node
        self.count += 1
        left_name, right_name = f"_orps_l{self.count}_", f"_orps_r{self.count}_"
        left_src = self.segment(test.left) or ast.unparse(test.left)
        right_src = self.segment(test.comparators[0]) or ast.unparse(test.comparators[0])
        stmts = [
            ast.Assign(targets=[ast.Name(left_name, ast.Store())], value=test.left),
            ast.Assign(targets=[ast.Name(right_name, ast.Store())], value=test.comparators[0]),
            ast.If(
                test=ast.UnaryOp(ast.Not(), ast.Compare(ast.Name(left_name, ast.Load()), test.ops,
                                                        [ast.Name(right_name, ast.Load())])),
                body=[ast.Raise(exc=ast.Call(
                    func=ast.Name("_OrpsAssertion", ast.Load()),
                    args=[ast.Name(left_name, ast.Load()), ast.Name(right_name, ast.Load()),
                          ast.Constant(_OPS[type(test.ops[0])]), ast.Constant(left_src),
                          ast.Constant(right_src), node.msg or ast.Constant(None)],
                    keywords=[]), cause=None)],
                orelse=[]),
        ]
        for stmt in stmts:
            ast.copy_location(stmt, node)
            ast.fix_missing_locations(stmt)
        return stmts


def compile_test(source: str, filename: str):
    tree = ast.parse(source, filename)
    tree = _AssertRewriter(source).visit(tree)
    ast.fix_missing_locations(tree)
    return compile(tree, filename, "exec", dont_inherit=True)


class _OrpsAssertion(AssertionError):
    def __init__(self, left, right, op, left_src, right_src, msg):
        super().__init__(msg if msg is not None else f"{left_src} {op} {right_src}")
        self.left, self.right, self.op = left, right, op
        self.left_src, self.right_src, self.msg = left_src, right_src, msg


def safe_repr(value, limit=600) -> str:
    try:
        text = repr(value)
    except BaseException as exc:  # a hostile __repr__ must not break reporting
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    if len(text) > limit:
        text = text[: limit // 2] + f" ...<{len(text) - limit} chars>... " + text[-limit // 2:]
    return text


def _tb_excerpt(exc, limit=3000) -> str:
    import traceback
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<orps-")]
    text = "".join(traceback.format_list(frames[-12:]))
    if isinstance(exc, _OrpsAssertion):
        text += f"AssertionError: {exc.args[0] if exc.args else ''}\n"
    else:
        text += "".join(traceback.format_exception_only(type(exc), exc))
    if len(text) > limit:
        text = "..." + text[-limit:]
    return "Traceback (most recent call last):\n" + text


def describe(exc) -> dict:
    """What stopped a test, as data: type, message, traceback; expected and actual for asserts."""
    remote = getattr(exc, "_orps_remote", None)
    if remote is not None:  # raised by the solution, in its process: the test's frames, then its own
        import traceback
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<orps-")]
        theirs = remote["traceback"].split("\n", 1)[1] if "\n" in remote["traceback"] else remote["traceback"]
        text = "".join(traceback.format_list(frames[-6:])) + theirs
        return {"type": remote["type"], "message": remote["message"],
                "traceback": "Traceback (most recent call last):\n" + text[-4000:], "from_program": True}
    try:
        message = str(exc)
    except BaseException:
        message = "(unprintable)"
    if len(message) > 1000:
        message = message[:1000] + "..."
    info = {"type": type(exc).__name__, "message": message}
    if isinstance(exc, SystemExit):
        info["message"] = f"exit code {exc.code!r}"
    elif isinstance(exc, _OrpsAssertion):
        # convention: the side that calls something is what the code produced
        left_calls = any(isinstance(n, ast.Call) for n in ast.walk(ast.parse(exc.left_src, mode="eval")))
        right_calls = any(isinstance(n, ast.Call) for n in ast.walk(ast.parse(exc.right_src, mode="eval")))
        swap = right_calls and not left_calls
        actual, expected = (exc.right, exc.left) if swap else (exc.left, exc.right)
        info.update(type="AssertionError",
                    message=str(exc.msg)[:1000] if exc.msg is not None else f"{exc.left_src} {exc.op} {exc.right_src}",
                    actual=safe_repr(actual), expected=safe_repr(expected), op=exc.op,
                    actual_source=exc.right_src if swap else exc.left_src,
                    expected_source=exc.left_src if swap else exc.right_src)
    info["traceback"] = _tb_excerpt(exc)
    return info
