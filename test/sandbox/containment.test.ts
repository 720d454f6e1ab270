// The second probe's hostile hooks with isolates in this process ('inline'); see containment-suite.ts.
import { containmentSuite } from './containment-suite.js';

containmentSuite('inline');
