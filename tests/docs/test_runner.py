"""Tests of the docs runner's extraction and annotations (no stack needed)."""

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import run_docs_examples as runner

DOCS = Path(__file__).resolve().parents[2] / "docs"


def blocks_from(text: str):
    with tempfile.TemporaryDirectory() as directory:
        page = Path(directory) / "page.md"
        page.write_text(text)
        return runner.blocks_of(page)


class Extraction(unittest.TestCase):
    def test_an_unannotated_block_is_refused(self):
        (block,) = blocks_from("Text\n\n```sh\necho hi\n```\n")
        with self.assertRaisesRegex(ValueError, "no <!-- docs-test"):
            runner.parse_annotation(block)

    def test_an_annotation_separated_by_a_blank_line_does_not_count(self):
        (block,) = blocks_from("<!-- docs-test: illustrative -->\n\n```sh\necho hi\n```\n")
        with self.assertRaises(ValueError):
            runner.parse_annotation(block)

    def test_illustrative_blocks_are_not_run(self):
        (block,) = blocks_from("<!-- docs-test: illustrative -->\n```json\n{}\n```\n")
        self.assertFalse(runner.parse_annotation(block).run)

    def test_run_takes_checks_an_exit_status_and_a_quoted_regex(self):
        (block,) = blocks_from('<!-- docs-test: run delivered exit=1 stdout="a b" -->\n```sh\nfalse\n```\n')
        plan = runner.parse_annotation(block)
        self.assertTrue(plan.run)
        self.assertEqual(plan.exit_status, 1)
        self.assertEqual(len(plan.checks), 2)

    def test_an_unknown_check_is_refused(self):
        (block,) = blocks_from("<!-- docs-test: run deliverd -->\n```sh\ntrue\n```\n")
        with self.assertRaisesRegex(ValueError, "unknown check 'deliverd'"):
            runner.parse_annotation(block)

    def test_a_language_it_cannot_run_is_refused(self):
        (block,) = blocks_from("<!-- docs-test: run -->\n```json\n{}\n```\n")
        with self.assertRaisesRegex(ValueError, "cannot run"):
            runner.parse_annotation(block)

    def test_an_indented_block_in_a_list_keeps_its_annotation_and_code(self):
        (block,) = blocks_from("1. Step:\n\n   <!-- docs-test: illustrative -->\n   ```sh\n   echo hi\n   ```\n")
        self.assertEqual(block.code, "echo hi\n")
        self.assertEqual(block.annotation, "illustrative")

    def test_a_stdout_check_fails_on_output_that_does_not_match(self):
        check = runner.check_stdout("^tnt_")
        check(None, "tnt_abc\n")
        with self.assertRaises(AssertionError):
            check(None, "nothing here\n")


class TheDocs(unittest.TestCase):
    def test_every_block_in_docs_is_annotated_and_runnable_blocks_have_a_language_it_runs(self):
        pages = sorted(DOCS.glob("**/*.md"))
        self.assertTrue(pages)
        runnable = 0
        for page in pages:
            for block in runner.blocks_of(page):
                with self.subTest(block=block.where):
                    runnable += runner.parse_annotation(block).run
        self.assertGreater(runnable, 20)


if __name__ == "__main__":
    unittest.main()
