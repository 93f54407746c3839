/**
 * One relay measurement in a process of its own, for the paired recording
 * cost (`recording-cost.ts`): `relay-child.ts STAGE CALLS SECONDS PORTBASE`
 * prints the figures of `measureRelay` as one line of JSON. Its own far ends
 * run on the peer core, as in every relay measurement.
 */
import { measureRelay, CAPTURING, type Capturing } from './relay.js';

const [stage, calls, seconds, portBase] = process.argv.slice(2);
if (!CAPTURING.includes(stage as Capturing)) throw new Error(`relay-child: unknown stage ${String(stage)}; one of ${CAPTURING.join(', ')}`);
const figures = await measureRelay('recgw', Number(calls), Number(seconds), Number(portBase), stage as Capturing);
console.log(JSON.stringify(figures));
