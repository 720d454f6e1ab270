// Hostile hooks with isolates in this process ('inline'); see hostile-suite.ts.
import { hostileSuite } from './hostile-suite.js';

hostileSuite('inline');
