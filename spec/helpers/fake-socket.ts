/** The suite's fake socket is the testing kit's (`rx-sis-tts/testing`): one fake for all specs. */
export {
  TRACE,
  activity,
  binary,
  close,
  endFrame,
  errorFrame,
  fail,
  fakeSockets,
  fatalFrame,
  open,
  startFrame,
  text,
  type FakeSocketOptions,
  type FakeSocketRecord,
  type FakeSockets,
  type ServerAction,
} from '../../lib/testing/fake-sockets.js';
