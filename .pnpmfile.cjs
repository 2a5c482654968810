// pnpm's node-gyp ignores npm's `nodedir` and tries to download Node headers, which fails
// without internet access. Point it at the running Node's own headers instead.
const path = require('node:path');

module.exports = {
  hooks: {
    updateConfig(config) {
      config.extraEnv = {
        ...(config.extraEnv ?? {}),
        npm_config_nodedir: path.resolve(process.execPath, '..', '..'),
      };
      return config;
    },
  },
};
