// @angular-devkit/schematics loads `ora` (an ES module jest cannot require) for
// its package-install task; schematic tests never run that task, so a silent
// spinner stands in for it.
const spinner = {
  start: () => spinner,
  stop: () => spinner,
  succeed: () => spinner,
  fail: () => spinner,
  text: '',
};
export default () => spinner;
