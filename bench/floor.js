// The floor: the least any njs module of this design can cost. A js_set that returns a constant
// record and a body filter that only passes chunks on.
function record(r) {
  return '{"v":1,"floor":true}';
}
function body_filter(r, data, flags) {
  r.sendBuffer(data, flags);
}
export default { record, body_filter };
