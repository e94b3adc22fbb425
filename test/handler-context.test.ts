/** The served call's lazy abort: listeners without an AbortController, and the signal on demand. */
import { describe, expect, it } from 'vitest';
import { LazyAbort, listenForAbort, stopListeningForAbort } from '../src/handler-context.js';

describe('LazyAbort', () => {
  it('calls each listener once on abort, and not one that stopped listening', () => {
    const abort = new LazyAbort('work');
    const calls: string[] = [];
    const first = () => calls.push('first');
    const second = () => calls.push('second');
    listenForAbort(abort, first);
    listenForAbort(abort, second);
    stopListeningForAbort(abort, first);
    const reason = new Error('stop');
    abort.abort(reason);
    abort.abort(new Error('again'));
    expect(calls).toEqual(['second']);
    expect(abort.aborted).toBe(true);
    expect(abort.reason).toBe(reason);
  });

  it('makes its AbortSignal only when asked, already aborted when the call was', () => {
    const abort = new LazyAbort('work');
    abort.abort('gone');
    // A listener added after the abort is never called: callers check `aborted` first.
    let called = false;
    abort.listen(() => {
      called = true;
    });
    expect(called).toBe(false);
    expect(abort.signal.aborted).toBe(true);
    expect(abort.signal.reason).toBe('gone');
  });

  it('aborts a signal read before the abort, after its own listeners ran', () => {
    const abort = new LazyAbort('work');
    const order: string[] = [];
    abort.signal.addEventListener('abort', () => order.push('signal'));
    abort.listen(() => order.push('listener'));
    abort.abort('stop');
    expect(order).toEqual(['listener', 'signal']);
  });

  it('listens on a plain AbortSignal the same way', () => {
    const controller = new AbortController();
    let calls = 0;
    const listener = () => calls++;
    listenForAbort(controller.signal, listener);
    controller.abort();
    controller.abort();
    expect(calls).toBe(1);
    const other = new AbortController();
    listenForAbort(other.signal, listener);
    stopListeningForAbort(other.signal, listener);
    other.abort();
    expect(calls).toBe(1);
  });
});
