/** The suite's fake socket is the testing kit's (`rx-sis-tts/testing`): one fake for all specs. */
export * from '../../lib/testing/fake-sockets.js';
