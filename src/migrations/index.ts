import * as migration_20261125_192955_initial from './20261125_192955_initial';
import * as migration_20261125_220307_framing from './20261125_220307_framing';

export const migrations = [
  {
    up: migration_20261125_192955_initial.up,
    down: migration_20261125_192955_initial.down,
    name: '20261125_192955_initial',
  },
  {
    up: migration_20261125_220307_framing.up,
    down: migration_20261125_220307_framing.down,
    name: '20261125_220307_framing'
  },
];
