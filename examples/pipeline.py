"""Pipeline (parallel task distribution): ventilator PUSH -> workers -> sink PULL.

The ventilator hands out tasks round-robin to three worker threads; each worker squares
its number and pushes the result to the sink. When the sink has every result, the main
thread ends the workers by terminating the context: their blocked recv() raises
ContextTerminated, and they close their sockets and return.

    python examples/pipeline.py
"""
import threading

import zmqx as zmq

TASKS = 100
WORKERS = 3


def worker(ctx, tasks_ep, results_ep, done):
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    pull.connect(tasks_ep)
    push.connect(results_ep)
    count = 0
    try:
        while True:
            n = int(pull.recv())
            push.send_string(f"{n * n}")
            count += 1
    except zmq.ContextTerminated:
        pass
    finally:
        pull.close(linger=0)
        push.close(linger=0)
        done.append(count)


def main():
    ctx = zmq.Context()
    ventilator = ctx.socket(zmq.PUSH)
    sink = ctx.socket(zmq.PULL)
    tasks_ep, results_ep = "inproc://tasks", "inproc://results"
    ventilator.bind(tasks_ep)
    sink.bind(results_ep)
    sink.rcvtimeo = 5000

    done = []
    threads = [threading.Thread(target=worker, args=(ctx, tasks_ep, results_ep, done))
               for _ in range(WORKERS)]
    for t in threads:
        t.start()

    for n in range(TASKS):
        ventilator.send_string(str(n))
    total = sum(int(sink.recv()) for _ in range(TASKS))
    print(f"sum of squares of 0..{TASKS - 1}: {total}")
    print(f"expected: {sum(n * n for n in range(TASKS))}")

    ventilator.close()
    sink.close()
    ctx.term()                     # wakes the workers with ContextTerminated
    for t in threads:
        t.join()
    print(f"{len(done)} workers stopped after {sum(done)} tasks")


if __name__ == "__main__":
    main()
