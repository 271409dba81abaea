/** The web UI's files (src/console/ui): every route that serves one finds the folder here, so
 *  that where it stands (beside the console's code, or beside a bundle of it) is said once. */
import { join } from 'path';

export const UI_DIR = join(__dirname, 'ui');
