const bytes = Deno.readFileSync("/work/main/examples/counter/modules/counter.wasm");
const m = new WebAssembly.Module(bytes);
const i = new WebAssembly.Instance(m, { env: { abort: () => {} } });
console.log((i.exports.memory as WebAssembly.Memory).buffer.byteLength);
