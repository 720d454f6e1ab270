// Hostile hooks with isolates in the supervised child process ('process'); see hostile-suite.ts.
import { hostileSuite } from './hostile-suite.js';

hostileSuite('process');
