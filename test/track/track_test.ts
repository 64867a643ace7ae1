// ln.track()/ln.finish() for scripts, run inputs and outputs, with real child processes.
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, freshInstance, tempDir } from "../_helpers.ts";

const MOD = new URL("../../mod.ts", import.meta.url).href;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

function script(extra = "", fail = false): string {
  return `import * as ln from "${MOD}";
const [root, input] = Deno.args;
await ln.init({ storage: root });
await ln.track();
const inFile = await ln.File.get({ key: input });
await inFile.load();
await inFile.load(); // linked once
const out = await new ln.File(new TextEncoder().encode("result " + crypto.randomUUID()), { key: "out/" + crypto.randomUUID() + ".txt" }).save();
await out.stage(); // its own output is not an input
${extra}
${fail ? 'throw new Error("boom");' : "await ln.finish();"}
await ln.close();
`;
}

async function runScript(path: string, ...args: string[]): Promise<boolean> {
  const r = await new Deno.Command(Deno.execPath(), {
    // The script lives outside the project: give it the project's import map.
    args: ["run", "-A", "--config", CONFIG, path, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { LAMIN_LOG_LEVEL: "error" },
  }).output();
  return r.success;
}

Deno.test("a script run twice unchanged: one transform, two runs; edited: a new version of it", async () => {
  const root = await freshInstance();
  const dir = await tempDir();
  try {
    await new ln.File(new TextEncoder().encode("a,b\n1,2\n"), { key: "in.csv" }).save();
    await ln.close();
    const path = `${dir}/pipeline.ts`;
    await Deno.writeTextFile(path, script());
    assert(await runScript(path, root, "in.csv"));
    assert(await runScript(path, root, "in.csv"));
    await Deno.writeTextFile(path, script("// edited"));
    assert(await runScript(path, root, "in.csv"));

    await ln.init({ storage: root });
    const transforms = await ln.Transform.filter({ type: "script" });
    assertEquals(transforms.map((t) => [t.name, t.version]).sort(), [
      ["pipeline.ts", "1"],
      ["pipeline.ts", "2"],
    ]);
    assertEquals(new Set(transforms.map((t) => t.id)).size, 1, "versions share the id");
    assertEquals(transforms[0].reference, path, "outside a git repository: the absolute path");
    const runs = await ln.Run.filter({});
    assertEquals(runs.length, 3);
    for (const run of runs) {
      assertEquals(run.status, "completed");
      assert(run.finishedAt! >= run.runAt);
      const inputs = await run.inputs.all();
      assertEquals(inputs.map((f) => f.key), ["in.csv"]);
      const outputs = await run.outputs.all();
      assertEquals(outputs.length, 1);
      assertEquals(outputs[0].transformId, run.transformId);
      assertEquals(outputs[0].run?.id, run.id);
    }
    assertEquals(
      runs.map((r) => r.transformVersion).sort(),
      ["1", "1", "2"],
    );
    const input = await ln.File.get({ key: "in.csv" });
    assertEquals((await input.inputOf.all()).length, 3);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a script that throws leaves its run errored, with what it saved linked", async () => {
  const root = await freshInstance();
  const dir = await tempDir();
  try {
    await new ln.File(new TextEncoder().encode("x\n1\n"), { key: "in.csv" }).save();
    await ln.close();
    await Deno.writeTextFile(`${dir}/fails.ts`, script("", true));
    assertEquals(await runScript(`${dir}/fails.ts`, root, "in.csv"), false);
    await ln.init({ storage: root });
    const [run] = await ln.Run.filter({});
    assertEquals(run.status, "errored");
    assert(run.finishedAt! >= run.runAt);
    assertEquals((await run.outputs.all()).length, 1);
    assertEquals((await run.inputs.all()).length, 1);
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("track({ name, version }) overrides; isRunInput: false opts out; finish() without a run is refused", async () => {
  const root = await freshInstance();
  try {
    await assertRejects(() => ln.finish(), ln.ValidationError, /track\(\) first/);
    await assertRejects(() => ln.track({ name: "" }), ln.ValidationError, /non-empty/);
    const f = await new ln.File(new Uint8Array([1, 2, 3]), { key: "raw.bin" }).save();
    const run = await ln.track({ name: "my pipeline", version: "7" });
    assertEquals([run.transform?.name, run.transformVersion], ["my pipeline", "7"]);
    await f.stage({ isRunInput: false });
    assertEquals((await run.inputs.all()).length, 0);
    await f.stage();
    assertEquals((await run.inputs.all()).map((x) => x.id), [f.id]);
    await ln.finish();
    assertEquals(ln.context.run, undefined);
    const again = await ln.track({ name: "my pipeline", version: "7" });
    assertEquals(again.transformId, run.transformId);
    assert(again.id !== run.id);
    await ln.finish({ status: "errored" });
    assertEquals((await ln.Run.get(again.id)).status, "errored");
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("viewLineage(): an SVG naming transforms, runs and files upstream", async () => {
  const root = await freshInstance();
  try {
    const raw = await new ln.File(new TextEncoder().encode("raw"), { key: "raw.txt" }).save();
    await ln.track({ name: "clean", version: "1" });
    await raw.stage();
    const clean = await new ln.File(new TextEncoder().encode("clean"), { key: "clean.txt" })
      .save();
    await ln.finish();
    const run2 = await ln.track({ name: "analyze", version: "2" });
    await clean.stage();
    const result = await new ln.File(new TextEncoder().encode("result"), { key: "result.txt" })
      .save();
    await ln.finish();

    const svg = (await result.viewLineage()).svg;
    assert(svg.startsWith("<?xml") && svg.includes("<svg"), "an SVG document");
    for (const s of ["raw.txt", "clean.txt", "result.txt", "clean v1", "analyze v2"]) {
      assert(svg.includes(s), `mentions ${s}`);
    }
    const runSvg = (await run2.viewLineage()).svg;
    for (const s of ["this run", "clean.txt", "result.txt", "raw.txt"]) {
      assert(runSvg.includes(s), `run lineage mentions ${s}`);
    }
    // raw.txt has no producing run: its lineage is just itself.
    const alone = (await raw.viewLineage()).svg;
    assert(alone.includes("raw.txt") && !alone.includes("clean"));
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("lamindb's ln.track(transform) tracks it; a uid string or lamindb's other options say what to pass", async () => {
  const root = await freshInstance();
  try {
    await assertRejects(
      () => ln.track("Onv04I53OgtT" as never),
      ln.ValidationError,
      /ln\.track\("Onv04I53OgtT"\): lamindb's ln\.track\("<transform uid>"\) .*ln\.track\(\{ transform/,
    );
    await assertRejects(
      () => ln.track({ project: "x" } as never),
      ln.ValidationError,
      /unknown option "project"; the options are name, version, transform, params/,
    );
    assertEquals(ln.context.run, undefined);
    const t = await new ln.Transform({ key: "Cell Ranger", version: "7.2.0" }).save();
    const run = await ln.track(t);
    assertEquals([run.transformId, run.transformVersion, ln.context.run?.id], [
      t.id,
      "7.2.0",
      run.id,
    ]);
    await ln.finish();
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});
