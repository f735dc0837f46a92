// Ink imports react-devtools-core only when DEV=true; the GPU kit's bundle has no use for it.
export default { initialize() {}, connectToDevTools() {} };
