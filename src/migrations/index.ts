import * as migration_20261125_191243_initial from './20261125_191243_initial';

export const migrations = [
  {
    up: migration_20261125_191243_initial.up,
    down: migration_20261125_191243_initial.down,
    name: '20261125_191243_initial'
  },
];
