import { describe, expect, it } from "vitest";
import { input, llm, workflow } from "../testing/build";
import { datasetToCsv, datasetToJsonl, parseDataset, type ParseDatasetResult } from "./dataset";
import { MAX_DATASET_BYTES, MAX_DATASET_ROWS, type Dataset } from "./types";

/** A workflow with one input of each type: text (with a default), a required number, a boolean and long text without a default. */
const doc = workflow([input, llm("answer", "Answer {{question}} for {{audience}} ({{count}}, {{formal}})")], ["in->answer"], {
  inputs: [
    { key: "question", label: "Question", type: "long-text", required: true },
    { key: "audience", label: "Audience", type: "text", default: "adults" },
    { key: "count", label: "How many", type: "number", required: true },
    { key: "formal", label: "Formal", type: "boolean" },
  ],
});

const csv = (text: string) => parseDataset(text, { format: "csv", document: doc, name: "qa" });
const jsonl = (text: string) => parseDataset(text, { format: "jsonl", document: doc, name: "qa" });

function rows(result: ParseDatasetResult) {
  if (!result.ok) throw new Error(`expected the dataset to parse: ${result.issues.map((i) => i.message).join("; ")}`);
  return result.dataset.rows;
}
function messages(result: ParseDatasetResult): string[] {
  if (result.ok) throw new Error("expected the dataset to be refused");
  return result.issues.map((i) => i.message);
}

describe("CSV import", () => {
  it("reads quotes, escaped quotes, commas and newlines inside cells, CRLF and a UTF-8 BOM", () => {
    const text = '\uFEFFquestion,count,expected.answer\r\n"Say ""hi"", then wave",2,"line one\r\nline two"\r\nplain,3,\r\n';
    expect(rows(csv(text))).toEqual([
      { id: "r1", inputs: { question: 'Say "hi", then wave', count: 2 }, expected: { answer: "line one\r\nline two" } },
      { id: "r2", inputs: { question: "plain", count: 3 } },
    ]);
  });

  it("matches columns by key or by label ignoring case, coerces numbers and booleans, and keeps ids", () => {
    const text = "ID,QUESTION,how many,formal,Expected:answer\nq1,What is 2+2?,1,true,4\nq2,Why?,5,false,\n";
    expect(rows(csv(text))).toEqual([
      { id: "q1", inputs: { question: "What is 2+2?", count: 1, formal: true }, expected: { answer: "4" } },
      { id: "q2", inputs: { question: "Why?", count: 5, formal: false } },
    ]);
  });

  it("reads an id column as the workflow's input when it has one named id", () => {
    const withId = workflow([input, llm("answer", "Look up {{id}}")], ["in->answer"], { inputs: [{ key: "id", label: "Order id", type: "text", required: true }] });
    const result = parseDataset("id\nA-17\n", { format: "csv", document: withId, name: "orders" });
    expect(rows(result)).toEqual([{ id: "r1", inputs: { id: "A-17" } }]);
  });

  it("assigns r1, r2… to rows without an id, skipping ids the file uses", () => {
    const text = "id,question,count\n,a,1\nr1,b,2\n,c,3\n";
    expect(rows(csv(text)).map((row) => row.id)).toEqual(["r2", "r1", "r3"]);
  });

  it("refuses an unknown column, naming it and listing the inputs", () => {
    const [message] = messages(csv("question,count,colour\na,1,red\n"));
    expect(message).toBe(
      'row 1, column "colour": "colour" is not an input of this workflow; its inputs are question ("Question"), audience ("Audience"), count ("How many"), formal ("Formal") (reference values go in "expected.<key>" columns).',
    );
  });

  it("says so when the file is separated by semicolons or tabs", () => {
    expect(messages(csv("question;count\na;1\n"))[0]).toMatch(/The file seems to separate columns with ";": save it comma-separated\.$/);
    expect(messages(csv("question\tcount\na\t1\n"))[0]).toMatch(/separate columns with tabs/);
  });

  it("refuses expected columns and JSONL keys that are not output keys, reserved names included", () => {
    expect(messages(csv("question,count,expected.__proto__\na,1,x\n"))).toEqual(['row 1, column "expected.__proto__": "__proto__" is not an output key (letters, digits and _, not starting with a digit)']);
    expect(messages(jsonl('{"question":"a","count":1,"expected":{"__proto__":"x","2x":"y"}}'))).toEqual([
      'line 1, column "expected.__proto__": "__proto__" is not an output key',
      'line 1, column "expected.2x": "2x" is not an output key',
    ]);
  });

  it("refuses a missing required input by row and column, and a value of the wrong type; nothing is imported", () => {
    const result = csv("question,count\nfine,1\n,2\nalso fine,many\n");
    expect(result.ok).toBe(false);
    expect(messages(result)).toEqual(['row 3, column "question": "question" is required and has no default', 'row 4, column "count": "count" must be a number']);
    expect(result).not.toHaveProperty("dataset");
  });

  it("names the column as the file spells it when it matched by label", () => {
    expect(messages(csv("Question,How many\nx,lots\n"))).toEqual(['row 2, column "How many": "count" must be a number']);
  });

  it("refuses a required column left out of the header on every row", () => {
    expect(messages(csv("question\na\nb\n"))).toEqual(['row 2, column "count": "count" is required and has no default', 'row 3, column "count": "count" is required and has no default']);
  });

  it("refuses rows with more or fewer cells than the header, an unclosed quote, duplicate ids and repeated columns", () => {
    expect(messages(csv("question,count\na,1,extra\n"))).toEqual(["row 2: has 3 cells; the header has 2"]);
    expect(messages(csv('question,count\n"open,1\n'))[0]).toBe('row 2: a quoted cell is never closed (a " is missing)');
    expect(messages(csv("id,question,count\nx,a,1\nx,b,2\n"))).toEqual(['row 3, column "id": the id "x" is already used by row 2']);
    expect(messages(csv("question,Question,count\na,b,1\n"))).toEqual(['row 1, column "Question": this column repeats column "question"']);
  });

  it("refuses an empty file and a header without rows", () => {
    expect(messages(csv(""))).toEqual(["the file is empty"]);
    expect(messages(csv("\uFEFF \r\n"))).toEqual(["the file is empty"]);
    expect(messages(csv("question,count\r\n"))).toEqual(["the file has a header but no rows"]);
  });

  it("warns about an expected column for a key the workflow never produces", () => {
    const result = csv("question,count,expected.answr\na,1,x\n");
    expect(result.ok && result.warnings.map((w) => w.message)).toEqual(['column "expected.answr": the workflow produces no "answr", so no assertion can compare with it']);
  });

  it("skips blank rows with a warning", () => {
    const result = csv("question,count\na,1\n\nb,2\n");
    expect(rows(result)).toHaveLength(2);
    expect(result.ok && result.warnings.map((w) => w.message)).toEqual(["row 3: blank row skipped"]);
  });

  it(`takes ${MAX_DATASET_ROWS.toLocaleString("en-US")} rows and refuses one more`, () => {
    const body = (n: number) => `question,count\n${Array.from({ length: n }, (_, i) => `question ${i},${i}`).join("\n")}\n`;
    const full = rows(csv(body(MAX_DATASET_ROWS)));
    expect(full).toHaveLength(MAX_DATASET_ROWS);
    expect(full.at(-1)).toEqual({ id: `r${MAX_DATASET_ROWS}`, inputs: { question: `question ${MAX_DATASET_ROWS - 1}`, count: MAX_DATASET_ROWS - 1 } });
    expect(messages(csv(body(MAX_DATASET_ROWS + 1)))).toEqual(["the file has 10,001 rows; the limit is 10,000"]);
  });

  it("refuses a file over 5 MB before parsing it, with a message", () => {
    const big = `question,count\n${"x".repeat(MAX_DATASET_BYTES)},1\n`;
    const result = csv(big);
    expect(messages(result)).toEqual(["the file is 5.0 MB; the limit is 5.0 MB"]);
    expect(!result.ok && result.issues[0].code).toBe("too-large");
    // Bytes, not characters: 1.7 million three-byte characters are over the limit.
    expect(!csv(`question,count\n${"€".repeat(1_700_000)},1\n`).ok).toBe(true);
  });
});

describe("JSONL import", () => {
  it("reads flat rows (keys are inputs, an expected object) and nested { inputs, expected } rows", () => {
    const text = [
      '{"question":"a","count":1,"expected":{"answer":"A"}}',
      "",
      '{"id":"n2","inputs":{"Question":"b","count":"2","formal":true},"expected":{"answer":42}}',
      '{"question":"c","count":3,"expected.answer":"C"}',
    ].join("\r\n");
    expect(rows(jsonl(text))).toEqual([
      { id: "r1", inputs: { question: "a", count: 1 }, expected: { answer: "A" } },
      { id: "n2", inputs: { question: "b", count: 2, formal: true }, expected: { answer: "42" } },
      { id: "r2", inputs: { question: "c", count: 3 }, expected: { answer: "C" } },
    ]);
  });

  it("names the line of invalid JSON, a non-object, an unknown key and a wrong type", () => {
    const text = ['{"question":"a","count":1}', "{not json", "[1,2]", '{"question":"b","count":1,"colour":"red"}', '{"question":"c","count":"x"}'].join("\n");
    const found = messages(jsonl(text));
    expect(found[0]).toMatch(/^line 2: not valid JSON \(/);
    expect(found.slice(1)).toEqual([
      "line 3: must be a JSON object of input values",
      'line 4, column "colour": "colour" is not an input of this workflow; its inputs are question ("Question"), audience ("Audience"), count ("How many"), formal ("Formal")',
      'line 5, column "count": "count" must be a number',
    ]);
  });

  it("refuses keys beside inputs in the nested form", () => {
    expect(messages(jsonl('{"inputs":{"question":"a","count":1},"extra":1}'))).toEqual(['line 1: extra is not allowed beside "inputs" (use id, inputs, expected, assertions)']);
  });

  it("reads a row's own assertions and refuses invalid ones by line", () => {
    const good = rows(jsonl('{"question":"a","count":1,"assertions":[{"id":"has-a","kind":"contains","key":"answer","value":"a"}]}'));
    expect(good[0].assertions).toEqual([{ id: "has-a", kind: "contains", key: "answer", value: "a" }]);
    const bad = messages(jsonl('{"question":"a","count":1,"assertions":[{"id":"x","kind":"matches","key":"answer","pattern":"(?=a)"}]}'));
    expect(bad[0]).toMatch(/^line 1, column "assertions": assertions\[0\]\.pattern is not a regular expression the linear-time engine supports/);
    expect(messages(jsonl('{"question":"a","count":1,"assertions":[{"id":"x","kind":"contains","key":"nope","value":"a"}]}'))[0]).toMatch(
      /^line 1, column "assertions": assertions\[0\]\.key "nope" is not produced by this workflow/,
    );
  });
});

describe("export", () => {
  const dataset: Dataset = {
    name: "qa",
    assertions: [],
    rows: [
      { id: "a", inputs: { question: 'Quote "this", please', count: 2, formal: true }, expected: { answer: "two\nlines" } },
      { id: "b", inputs: { question: "=1+1", count: 0 } },
      { id: "c", inputs: { question: "naïve café ☕", count: 1.5, formal: false }, expected: { answer: "" } },
    ],
  };

  it("CSV round-trips: export then import gives the same rows", () => {
    const text = datasetToCsv(dataset, doc);
    expect(text.split("\r\n")[0]).toBe("id,question,audience,count,formal,expected.answer");
    const back = rows(csv(text));
    expect(back).toEqual([dataset.rows[0], dataset.rows[1], { id: "c", inputs: { question: "naïve café ☕", count: 1.5, formal: false } }]);
  });

  it("CSV export writes cells a spreadsheet would run as formulas with a leading ', and import gives back exactly what was exported", () => {
    const tricky = ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\tindented", "'=already quoted", "''+two quotes", "'", "'plain", "it's = fine", "-", "=", "- a list item"];
    const risky: Dataset = {
      name: "risky",
      assertions: [],
      rows: [
        ...tricky.map((question, i) => ({ id: `t${i}`, inputs: { question, count: 1 }, expected: { answer: question } })),
        { id: "-neg", inputs: { question: "numbers", count: -5 }, expected: { answer: "+1.5e3" } },
      ],
    };
    const text = datasetToCsv(risky, doc);
    const lines = text.split("\r\n").slice(1, -1);
    expect(lines[0]).toBe("t0,'=1+1,,1,,'=1+1");
    expect(lines[2]).toBe("t2,'-2+3,,1,,'-2+3");
    expect(lines[3]).toBe("t3,'@SUM(A1:A2),,1,,'@SUM(A1:A2)");
    // Already quoted: one more ', so import removes exactly one.
    expect(lines[5]).toBe("t5,''=already quoted,,1,,''=already quoted");
    // A ' not followed by a formula character, and plain numbers, are written as they are.
    expect(lines[8]).toBe("t8,'plain,,1,,'plain");
    expect(lines.at(-1)).toBe("'-neg,numbers,,-5,,+1.5e3");
    expect(rows(csv(text))).toEqual(risky.rows);
  });

  it("CSV export names the id column row.id when the workflow has an input called id, and imports it back", () => {
    const withId = workflow([input, llm("answer", "Look up {{id}}")], ["in->answer"], { inputs: [{ key: "id", label: "Customer id", type: "text", required: true }] });
    const data: Dataset = { name: "ids", assertions: [], rows: [{ id: "r1", inputs: { id: "C-42" } }, { id: "r2", inputs: { id: "C-7" } }] };
    const text = datasetToCsv(data, withId);
    expect(text.split("\r\n")[0]).toBe("row.id,id");
    expect(rows(parseDataset(text, { format: "csv", document: withId, name: "ids" }))).toEqual(data.rows);
    // Without the document, an input key "id" in the rows decides it too.
    expect(datasetToCsv(data).split("\r\n")[0]).toBe("row.id,id");
    // A workflow without such an input keeps the plain id column; row.id is accepted for it on import.
    expect(rows(csv("row.id,question,count\nq1,Why?,1\n"))).toEqual([{ id: "q1", inputs: { question: "Why?", count: 1 } }]);
  });

  it("JSONL round-trips, row assertions included", () => {
    const withAssertions: Dataset = { ...dataset, rows: [{ ...dataset.rows[0], assertions: [{ id: "q", kind: "contains", key: "answer", value: "two" }] }, dataset.rows[1]] };
    expect(rows(jsonl(datasetToJsonl(withAssertions)))).toEqual(withAssertions.rows);
  });
});
