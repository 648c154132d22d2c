"""Decorators that give a function a Context or a socket for the length of one call
(pyzmq's zmq.decorators):

    @context()
    @socket(zmq.PUSH)
    def work(ctx, push): ...

The object is passed as the next positional argument, or as a keyword when the decorator
is given a name (``@socket("push", zmq.PUSH)`` or ``name="push"``). It is closed when the
call returns or raises. ``@socket`` takes its Context from the call's arguments (the
keyword ``context_name``, default "context", else the first Context among the positional
and then the keyword arguments) and otherwise uses ``Context.instance()``."""

import functools

__all__ = ("context", "socket")


def _split_name(args, kwargs):
    # the name of the keyword argument to fill, and what is left for the factory
    if isinstance(kwargs.get("name"), str):
        return kwargs.pop("name"), args, kwargs
    if args and isinstance(args[0], str):
        return args[0], args[1:], kwargs
    return None, args, kwargs


def _inject(func, name, make):
    """Wrap func so each call gets `make(call_args, call_kwargs)` as a context manager."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with make(args, kwargs) as obj:
            if name is None:
                args = args + (obj,)
            elif name in kwargs:
                raise TypeError(f"{func.__name__}() got multiple values for argument '{name}'")
            else:
                kwargs[name] = obj
            return func(*args, **kwargs)

    return wrapper


def context(*args, **kwargs):
    """Decorator: call the function with a new Context(*args, **kwargs), terminated after."""
    from .context import Context

    name, args, kwargs = _split_name(args, dict(kwargs))
    return lambda func: _inject(func, name, lambda a, k: Context(*args, **kwargs))


def socket(*args, **kwargs):
    """Decorator: call the function with a new socket (ctx.socket(*args, **kwargs)),
    closed after."""
    from .context import Context

    name, args, kwargs = _split_name(args, dict(kwargs))
    context_name = kwargs.pop("context_name", "context")

    def find_context(call_args, call_kwargs):
        ctx = call_kwargs.get(context_name)
        if isinstance(ctx, Context):
            return ctx
        for arg in call_args:
            if isinstance(arg, Context):
                return arg
        for arg in call_kwargs.values():      # e.g. from @context(name="ctx")
            if isinstance(arg, Context):
                return arg
        return Context.instance()

    return lambda func: _inject(
        func, name, lambda a, k: find_context(a, k).socket(*args, **kwargs))
