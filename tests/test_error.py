"""zmqx.error: pyzmq's exception classes and libzmq's error texts."""

import errno
import pickle

import pytest

import zmqx.error as ze
from zmqx.constants import Errno
from zmqx.error import (
    Again,
    ContextTerminated,
    InterruptedSystemCall,
    NotDone,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    ZMQVersionError,
    _check_rc,
    _check_version,
    _error_for,
    strerror,
)

HAUSNUMERO = 156384712
PYZMQ_SUFFIX = ": This call should have been retried. Please report this to pyzmq."
ZMQX_SUFFIX = ": This call should have been retried. Please report this to zmqx."


@pytest.fixture(scope="module")
def zmq():
    return pytest.importorskip("zmq")


@pytest.fixture(autouse=True)
def _clear_errno():
    ze._set_errno(0)
    yield
    ze._set_errno(0)


# ---------------------------------------------------------------------------
# without pyzmq
# ---------------------------------------------------------------------------


def test_hierarchy():
    assert issubclass(ZMQError, ZMQBaseError) and issubclass(ZMQBaseError, Exception)
    for cls in (Again, ContextTerminated, InterruptedSystemCall):
        assert issubclass(cls, ZMQError)
    assert issubclass(InterruptedSystemCall, InterruptedError)
    assert issubclass(InterruptedSystemCall, OSError)
    assert issubclass(ZMQBindError, ZMQBaseError) and not issubclass(ZMQBindError, ZMQError)
    assert issubclass(NotDone, ZMQBaseError) and not issubclass(NotDone, ZMQError)
    assert issubclass(ZMQVersionError, NotImplementedError)


def test_zmq_specific_strerror():
    assert strerror(Errno.EFSM) == "Operation cannot be accomplished in current state"
    assert strerror(Errno.ENOCOMPATPROTO) == "The protocol is not compatible with the socket type"
    assert strerror(Errno.ETERM) == "Context was terminated"
    assert strerror(Errno.EMTHREAD) == "No thread available"
    assert strerror(Errno.EHOSTUNREACH) == "Host unreachable"
    assert strerror(errno.EINVAL) == "Invalid argument"


def test_strerror_edge_cases():
    assert isinstance(strerror(2**40), str)
    assert isinstance(strerror(-1), str)
    with pytest.raises(TypeError):
        strerror("11")


def test_zmqerror_plain():
    e = ZMQError(Errno.EAGAIN)
    assert type(e) is ZMQError  # direct construction never picks a subclass
    assert e.errno == Errno.EAGAIN
    assert str(e) == strerror(Errno.EAGAIN)
    assert repr(e) == f"ZMQError('{strerror(Errno.EAGAIN)}')"
    e = ZMQError(Errno.EINVAL, "bad thing")
    assert e.errno == Errno.EINVAL and str(e) == "bad thing"
    e = ZMQError("just text")
    assert e.errno is None and str(e) == "just text"


def test_zmqerror_default_errno_is_last_error():
    assert ZMQError().errno == 0
    _error_for(Errno.EFSM)
    e = ZMQError()
    assert e.errno == Errno.EFSM
    assert str(e) == "Operation cannot be accomplished in current state"
    assert ze.zmq_errno() == Errno.EFSM


def test_error_for():
    cases = {
        Errno.EAGAIN: Again,
        Errno.ETERM: ContextTerminated,
        errno.EINTR: InterruptedSystemCall,
        Errno.EFSM: ZMQError,
        Errno.EINVAL: ZMQError,
        Errno.EHOSTUNREACH: ZMQError,
    }
    for n, cls in cases.items():
        e = _error_for(n)
        assert type(e) is cls, n
        assert e.errno == n
        assert isinstance(e, ZMQError)
        assert ze.zmq_errno() == n
    # a plain int works as well as an Errno member
    assert type(_error_for(int(Errno.EAGAIN))) is Again
    e = _error_for(Errno.EAGAIN, "timed out")
    assert type(e) is Again and str(e) == "timed out"
    e = _error_for(Errno.EPROTONOSUPPORT, "no such transport: foo")
    assert type(e) is ZMQError and str(e) == "no such transport: foo"


def test_check_rc():
    _check_rc(0)
    _check_rc(5, Errno.EINVAL)
    with pytest.raises(Again):
        _check_rc(-1, Errno.EAGAIN)
    with pytest.raises(ContextTerminated):
        _check_rc(-1, Errno.ETERM)
    with pytest.raises(ZMQError) as info:
        _check_rc(-1, Errno.ENOTSOCK)
    assert info.value.errno == Errno.ENOTSOCK
    _check_rc(-1, 0, error_without_errno=False)
    with pytest.raises(ZMQError):
        _check_rc(-1, 0)


def test_check_version():
    _check_version((4,))
    _check_version((4, 3, 5))
    with pytest.raises(ZMQVersionError) as info:
        _check_version((4, 4), "Thing")
    assert str(info.value) == "Thing requires libzmq >= 4.4, have 4.3.5"


def test_subclasses_ignore_arguments():
    for cls, n in ((Again, Errno.EAGAIN), (ContextTerminated, Errno.ETERM), (InterruptedSystemCall, Errno.EINTR)):
        for e in (cls(), cls(12345), cls(12345, "custom")):
            assert e.errno == n
            assert e.errno is n  # the enum member, as pyzmq has it
    assert str(InterruptedSystemCall()) == strerror(errno.EINTR) + ZMQX_SUFFIX
    # Again and ContextTerminated keep errno and text on the class (the C initialiser only
    # keeps the arguments): what an instance shows must not change with that
    for cls, n in ((Again, errno.EAGAIN), (ContextTerminated, Errno.ETERM)):
        e = cls("ignored", "too")
        assert str(e) == strerror(n) and repr(e) == f"{cls.__name__}('{strerror(n)}')"
        assert e.args == ("ignored", "too") and cls().args == ()
        e.errno = 5                    # instances still take their own values
        assert e.errno == 5 and cls().errno == n


@pytest.mark.parametrize(
    "err",
    [ZMQError(Errno.EFSM), ZMQError(Errno.EINVAL, "x"), ZMQError("text"), Again(), ContextTerminated(), InterruptedSystemCall()],
    ids=repr,
)
def test_pickle(err):
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert back.errno == err.errno
    assert str(back) == str(err)


def test_all():
    for name in ze.__all__:
        assert hasattr(ze, name)


# ---------------------------------------------------------------------------
# against pyzmq
# ---------------------------------------------------------------------------


def test_all_matches_pyzmq(zmq):
    import zmq.error

    assert sorted(ze.__all__) == sorted(zmq.error.__all__)


@pytest.mark.parametrize(
    "name",
    ["DraftFDWarning", "ZMQBaseError", "ZMQBindError", "ZMQError", "NotDone", "ContextTerminated", "InterruptedSystemCall", "Again", "ZMQVersionError"],
)
def test_mro_matches_pyzmq(zmq, name):
    import zmq.error

    def shape(cls):
        # pyzmq/zmqx classes by name, builtins as themselves
        return [c.__name__ if c.__module__.startswith(("zmq", "zmqx")) else c for c in cls.__mro__]

    assert shape(getattr(ze, name)) == shape(getattr(zmq.error, name))


def test_isinstance_relations_match_pyzmq(zmq):
    import zmq.error

    names = zmq.error.__all__
    for a in names:
        for b in names:
            assert issubclass(getattr(ze, a), getattr(ze, b)) == issubclass(
                getattr(zmq.error, a), getattr(zmq.error, b)
            ), (a, b)


def test_strerror_matches_pyzmq(zmq):
    numbers = set(zmq.Errno) | set(Errno)
    numbers |= set(range(0, 150))
    numbers |= {HAUSNUMERO + i for i in range(0, 60)}
    for n in sorted(numbers):
        assert strerror(n) == zmq.strerror(n), n


def test_zmqerror_matches_pyzmq(zmq):
    for n in list(zmq.Errno) + [errno.EINTR, errno.ENOMEM, errno.ENODEV, 0, 12345]:
        ours, theirs = ZMQError(n), zmq.ZMQError(n)
        assert ours.errno == theirs.errno
        assert str(ours) == str(theirs)
        assert repr(ours) == repr(theirs)
        assert ours.args == theirs.args
        ours, theirs = ZMQError(n, "msg"), zmq.ZMQError(n, "msg")
        assert (ours.errno, str(ours), repr(ours)) == (theirs.errno, str(theirs), repr(theirs))
    ours, theirs = ZMQError("text"), zmq.ZMQError("text")
    assert (ours.errno, str(ours), repr(ours)) == (theirs.errno, str(theirs), repr(theirs))


def test_subclasses_match_pyzmq(zmq):
    for name in ("Again", "ContextTerminated"):
        ours, theirs = getattr(ze, name)(), getattr(zmq, name)()
        assert ours.errno == theirs.errno
        assert type(ours.errno).__name__ == type(theirs.errno).__name__
        assert str(ours) == str(theirs)
        assert repr(ours) == repr(theirs)
        assert ours.args == theirs.args
    ours, theirs = InterruptedSystemCall(), zmq.InterruptedSystemCall()
    assert ours.errno == theirs.errno
    # the same text, but pointing at zmqx rather than pyzmq
    assert str(ours).replace(ZMQX_SUFFIX, PYZMQ_SUFFIX) == str(theirs)
    assert repr(ours).replace(ZMQX_SUFFIX, PYZMQ_SUFFIX) == repr(theirs)


def test_version_error_matches_pyzmq(zmq):
    assert zmq.zmq_version() == "4.3.5"  # the libzmq pyzmq was built with
    for args in (("5.0",), ("4.4", "Thing")):
        ours, theirs = ZMQVersionError(*args), zmq.ZMQVersionError(*args)
        assert str(ours) == str(theirs)
        assert repr(ours) == repr(theirs)
        assert (ours.msg, ours.min_version, ours.version) == (theirs.msg, theirs.min_version, theirs.version)


def test_draft_fd_warning(zmq):
    w = ze.DraftFDWarning()
    assert isinstance(w, RuntimeWarning) and str(w)
    assert str(ze.DraftFDWarning("x")) == str(zmq.error.DraftFDWarning("x")) == "x"
