// pbx-simulator as a throwaway container for a CRM's Node tests, with testcontainers for Node
// (a GenericContainer: the image is all it needs) and Node's own test runner.
//
//   docker build -t pbx-simulator:local .
//   npm install --save-dev testcontainers
//   node --test examples/testcontainers/pbx-sim.test.mjs
//
// The container waits on the image's HEALTHCHECK (`pbx-sim wait`) before the tests start.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { GenericContainer, Wait } from "testcontainers";

const IMAGE = process.env.PBX_SIM_IMAGE ?? "pbx-simulator:local";
const ADMIN_TOKEN = "tc-admin-token";
let container;
let base;

before(async () => {
  container = await new GenericContainer(IMAGE)
    .withEnvironment({ PBX_SIM_ADMIN_TOKEN: ADMIN_TOKEN, PBX_SIM_CLOCK: "instant", PBX_SIM_STATE_FILE: "" })
    .withCommand(["pbx-sim", "serve", "--seed", "7"])
    .withExposedPorts(8080)
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(120_000)
    .start();
  base = `http://${container.getHost()}:${container.getMappedPort(8080)}`;
}, { timeout: 180_000 });

after(async () => {
  await container?.stop();
});

async function admin(path, init = {}) {
  const response = await fetch(base + path, {
    ...init,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
  });
  assert.ok(response.ok, `${path}: HTTP ${response.status}`);
  return response.json();
}

test("the vats API answers with the account's key", async () => {
  const accounts = await admin("/_sim/accounts?secrets=1");
  const vats = accounts.find((a) => a.id === "vats");
  const response = await fetch(`${base}/crmapi/v1/users`, { headers: { "X-API-KEY": vats.credentials.api_key } });
  assert.equal(response.status, 200);
});

test("a call is placed and answered", async () => {
  const state = await admin("/_sim/accounts/vats/state?cdr_limit=0");
  const call = await admin("/_sim/calls", {
    method: "POST",
    body: JSON.stringify({ account: "vats", direction: "in", from: "79001234567", to: state.numbers[0].number, talk_s: 20 }),
  });
  assert.ok(call.call_id);
});
