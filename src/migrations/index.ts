import * as migration_20261125_192955_initial from './20261125_192955_initial';

export const migrations = [
  {
    up: migration_20261125_192955_initial.up,
    down: migration_20261125_192955_initial.down,
    name: '20261125_192955_initial'
  },
];
