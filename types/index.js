// Runtime of the 'callhook' module for Node-side imports (tests, `callhook try` in-process). Inside the
// sandbox 'callhook' is a virtual module that returns the same shape.
export function defineHook(hook, handler) {
  return { hook, handler };
}
