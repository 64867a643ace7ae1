# jupyter_kernel_test's conformance suite against a TypeScript kernel (the
# kernelspec named in $KERNEL_NAME). Prints one JSON line with the outcome.
import json
import os
import sys
import unittest

import jupyter_kernel_test


class TypeScriptKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = os.environ.get("KERNEL_NAME", "lamindeno")
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'
    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [
        {"code": "6*7", "result": "42"},
        {"code": "[1, 2].map((x) => x * 2)", "result": "[ 2, 4 ]"},
    ]
    code_display_data = [
        {"code": "await Deno.jupyter.display(Deno.jupyter.html`<b>hi</b>`)", "mime": "text/html"},
    ]
    code_clear_output = 'Deno.jupyter.broadcast("clear_output", { wait: false })'
    # The kernel keeps no history: the history subtests skip themselves.
    code_history_pattern = "6*7"
    supported_history_operations = ()
    completion_samples = [
        {"text": "Deno.execP", "matches": ["execPath"]},
        {"text": "Math.sq", "matches": ["sqrt"]},
    ]
    complete_code_samples = ["1 + 1", "const o = { a: [1, 2] };", "// a comment"]
    incomplete_code_samples = ["function f() {", "const s = `abc", "[1, 2,"]
    invalid_code_samples = ["(]"]


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(TypeScriptKernelTests)
    result = unittest.TextTestRunner(stream=sys.stderr, verbosity=2).run(suite)
    name = lambda t: t.id().split(".", 2)[-1]
    print(json.dumps({
        "ran": result.testsRun,
        "failed": sorted({name(t) for t, _ in result.failures + result.errors}),
        "skipped": sorted({name(t) for t, _ in result.skipped}),
    }))
