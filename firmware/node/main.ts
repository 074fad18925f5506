/**
 * Device entry point, bundled once per board (dist/<board>.js) with "@board" pointing at boards/<board>.ts.
 *
 * For now (issue 3) an honest stub: it proves the bundle loads and runs on the real interpreter by printing a
 * boot line with the board name and the free JsVars. The telemetry node (WiFi, sensors, MQTT client) replaces
 * it in issue 7.
 */
import { board } from "@board";

console.log("boot " + board.name + " free=" + process.memory().free);
