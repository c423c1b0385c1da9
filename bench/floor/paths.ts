/** Where the floor's workflow code is and where its bundle goes (bench/src/prepare.ts writes it). */
import path from 'node:path';

export const FLOOR_WORKFLOWS_PATH = path.join(__dirname, 'workflows.js');
export const FLOOR_BUNDLE_PATH = path.join(__dirname, 'workflow-bundle.js');
