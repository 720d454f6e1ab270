// The second probe's hostile hooks with isolates in the supervised child process; see containment-suite.ts.
import { containmentSuite } from './containment-suite.js';

containmentSuite('process');
