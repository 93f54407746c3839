/**
 * One whole-call measurement in a process of its own, for the paired
 * whole-call cost (`measureCallsPaired`): `calls-child.ts RECORDING CALLS
 * SECONDS PORTBASE` prints the figures of `measureCalls` as one line of JSON.
 */
import { measureCalls } from './calls.js';

const [recording, calls, seconds, portBase] = process.argv.slice(2);
if (recording !== 'recorded' && recording !== 'unrecorded') throw new Error(`calls-child: recorded or unrecorded, not ${String(recording)}`);
const figures = await measureCalls(Number(calls), Number(seconds), Number(portBase), recording);
console.log(JSON.stringify(figures));
