// Starts @vercel/cosmosdb-server for Prism's local stack (see docs/local-stack.md).
//
// Usage: node localstack/cosmos-emulator.mjs --host 127.0.0.1 --port N --cert C --key K
//        [--no-keep-alive]   (only for bench/emulators.py, which measures what it costs)
//
// Why a wrapper instead of the package's own CLI:
// * its bundled certificate expired in 2021, so we pass the one `prism_local.localstack`
//   generates at start;
// * without `keepAlive` it answers `Connection: close` and manages ~41 ops/s through
//   the Python SDK; with it, ~600-1100 ops/s;
// * its point read of a missing id (or of an id under another partition key) throws a
//   TypeError inside the `read-document` handler and answers 500, which the SDK retries
//   and then reports as a server error instead of the 404 Cosmos DB gives.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";

const require = createRequire(import.meta.url);

const NOT_FOUND = {
  code: "NotFound",
  message: "Entity with the specified id does not exist in the system.,",
};

// routes.js copies `handler.default` into its route table when it is first loaded, so
// the handler module must be patched before the package's entry point is required.
const readDocument = require("@vercel/cosmosdb-server/lib/handler/read-document");
const originalReadDocument = readDocument.default;
readDocument.default = (account, req, res, params) => {
  try {
    return originalReadDocument(account, req, res, params);
  } catch (err) {
    // The handler dereferences the stored document without checking that it exists.
    if (!(err instanceof TypeError)) throw err;
    res.statusCode = 404;
    return { ...NOT_FOUND };
  }
};

const { createHttpsServer } = require("@vercel/cosmosdb-server");

const { values } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string" },
    cert: { type: "string" },
    key: { type: "string" },
    "no-keep-alive": { type: "boolean", default: false },
  },
});
if (!values.port || !values.cert || !values.key) {
  console.error("usage: cosmos-emulator.mjs --host H --port N --cert CERT.pem --key KEY.pem");
  process.exit(2);
}

const server = createHttpsServer({
  cert: readFileSync(values.cert),
  key: readFileSync(values.key),
  keepAlive: !values["no-keep-alive"],
});
server.on("error", (err) => {
  console.error(`cosmos emulator failed: ${err.message}`);
  process.exit(1);
});
server.listen(Number(values.port), values.host, () => {
  const { address, port } = server.address();
  console.log(`cosmos emulator listening on https://${address}:${port}/`);
});

const stop = () => {
  server.close(() => process.exit(0));
  // Idle keep-alive sockets would hold close() open; end them.
  server.closeAllConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
