import { describe, expect, it } from "vitest";
import { checkDeviceCsv, formatDeviceCsv, MAX_CSV_ROWS, parseDeviceCsv } from "./csv.js";

const rows = (text: string) => {
  const r = parseDeviceCsv(text);
  if (!r.ok) throw new Error(`line ${r.line}: ${r.message}`);
  return r.rows;
};

describe("parseDeviceCsv: accepted files", () => {
  it.each<[string, string, Array<{ line: number; id: string; type: string; labels: Record<string, string> }>]>([
    ["all columns", "id,type,labels\nd1,thermo,site=n;floor=2\n", [{ line: 2, id: "d1", type: "thermo", labels: { site: "n", floor: "2" } }]],
    ["id only", "id\nd1\nd2", [{ line: 2, id: "d1", type: "", labels: {} }, { line: 3, id: "d2", type: "", labels: {} }]],
    ["columns in another order", "labels,id\na=1,d1\n", [{ line: 2, id: "d1", type: "", labels: { a: "1" } }]],
    ["header names in any case, spaced", " ID , Type \nd1,t\n", [{ line: 2, id: "d1", type: "t", labels: {} }]],
    ["trailing columns left out", "id,type,labels\nd1\nd2,t\n", [{ line: 2, id: "d1", type: "", labels: {} }, { line: 3, id: "d2", type: "t", labels: {} }]],
    ["CRLF line ends", "id,type\r\nd1,a\r\nd2,b\r\n", [{ line: 2, id: "d1", type: "a", labels: {} }, { line: 3, id: "d2", type: "b", labels: {} }]],
    ["blank lines anywhere", "\n\nid,type\n\nd1,a\n   \n\nd2,b\n\n", [{ line: 5, id: "d1", type: "a", labels: {} }, { line: 8, id: "d2", type: "b", labels: {} }]],
    ["a BOM", "\uFEFFid\nd1\n", [{ line: 2, id: "d1", type: "", labels: {} }]],
    ["a quoted field with a comma and quotes", 'id,type,labels\nd1,t,"note=a, ""b"";x=1"\n', [{ line: 2, id: "d1", type: "t", labels: { note: 'a, "b"', x: "1" } }]],
    ["a quoted line break between labels (spaces around labels are dropped)", 'id,labels\nd1,"a=1;\nb=2"\nd2\n', [{ line: 2, id: "d1", type: "", labels: { a: "1", b: "2" } }, { line: 4, id: "d2", type: "", labels: {} }]],
    ["quoted ids", '"id","type"\n"d1","t"\n', [{ line: 2, id: "d1", type: "t", labels: {} }]],
    ["labels with = in the value, spaces, empty parts", "id,labels\nd1, a = b=c ; ;k= \n", [{ line: 2, id: "d1", type: "", labels: { a: "b=c", k: "" } }]],
    ["no last line end", "id\nd1", [{ line: 2, id: "d1", type: "", labels: {} }]],
    ["a header and no rows", "id,type,labels\n", []],
  ])("%s", (_name, text, want) => {
    expect(rows(text)).toEqual(want);
  });

  it("counts lines through quoted line breaks", () => {
    expect(parseDeviceCsv('id,type\nd1,"bad\ntype"\n')).toMatchObject({ ok: false, line: 2, message: expect.stringContaining("type: must match") as unknown });
    expect(parseDeviceCsv('id,labels\nd1,"a=1;\r\nb=2"\nd1\n')).toEqual({ ok: false, line: 4, message: 'id "d1" is also on line 2' });
    const ok = parseDeviceCsv('id,labels\n"d1",""\n"d2","a=1"\r\nd3\n');
    expect(ok.ok && ok.rows.map((x) => x.line)).toEqual([2, 3, 4]);
  });

  it(`takes ${MAX_CSV_ROWS} rows and refuses one more`, () => {
    const body = Array.from({ length: MAX_CSV_ROWS }, (_, i) => `d${i}`).join("\n");
    expect(rows(`id\n${body}\n`)).toHaveLength(MAX_CSV_ROWS);
    expect(parseDeviceCsv(`id\n${body}\nd-extra\n`)).toEqual({ ok: false, line: MAX_CSV_ROWS + 2, message: `more than ${MAX_CSV_ROWS} devices in one file` });
  });
});

describe("parseDeviceCsv: refused files", () => {
  it.each<[string, string, number, string]>([
    ["empty text", "", 1, "no header"],
    ["only blank lines", "\n\n  \n", 1, "no header"],
    ["no header (a device on line 1)", "d1,thermo\n", 1, 'unknown column "d1"'],
    ["a header without id", "type,labels\nt,\n", 1, "no id column"],
    ["a column twice", "id,type,type\n", 1, 'column "type" appears twice'],
    ["an unknown column", "id,colour\n", 1, 'unknown column "colour"'],
    ["more fields than columns", "id,type\nd1,t,extra\n", 2, "3 fields but the header has 2"],
    ["a bad id", "id\nd1\nbad id\n", 3, "id: must match"],
    ["an empty id", "id,type\n,t\n", 2, "id: required"],
    ["a bad type", "id,type\nd1,a/b\n", 2, "type: must match"],
    ["a label without =", "id,labels\nd1,a=1;oops\n", 2, 'labels: "oops" is not key=value'],
    ["a label key twice", "id,labels\nd1,a=1;a=2\n", 2, 'labels: key "a" appears twice'],
    ["a bad label key", "id,labels\nd1,a b=1\n", 2, 'labels: key "a b" must match'],
    ["an empty label key", "id,labels\nd1,=1\n", 2, 'labels: key "" must match'],
    ["too many labels", `id,labels\nd1,${Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(";")}\n`, 2, "at most 32 labels"],
    ["a long label value", `id,labels\nd1,k=${"v".repeat(257)}\n`, 2, "labels[k]: longer than 256"],
    ["a duplicate id names both lines", "id\nd1\nd2\n\nd1\n", 5, 'id "d1" is also on line 2'],
    ["an unclosed quote", 'id,type\nd1,"never closed\nd2,t\n', 2, "quoted field is not closed"],
    ["text after a closing quote", 'id,type\nd1,"t"x\n', 2, "closing quote must end its field"],
    ["a quote inside an unquoted field", 'id,type\nd1,a"b\n', 2, "quote inside an unquoted field"],
  ])("%s", (_name, text, line, message) => {
    const r = parseDeviceCsv(text);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.line).toBe(line);
    expect(r.message).toContain(message);
  });
});

describe("checkDeviceCsv: every bad row at once", () => {
  it("reports each bad row with its line and keeps the good ones; the first problem is parseDeviceCsv's", () => {
    const text = "id,type,labels\nd1,t,a=1\nbad id,t,\nd2,x y,\nd1,t,\nd3,,k\nd4\n";
    const c = checkDeviceCsv(text);
    expect(c.rows.map((r) => r.id)).toEqual(["d1", "d4"]);
    expect(c.problems.map((p) => p.line)).toEqual([3, 4, 5, 6]);
    expect(c.problems[2]!.message).toBe('id "d1" is also on line 2');
    expect(c.stopped).toBe(false);
    expect(parseDeviceCsv(text)).toEqual({ ok: false, ...c.problems[0] });
  });

  it("stops at what makes the rest unreadable, or after maxProblems", () => {
    expect(checkDeviceCsv('id\nbad id\n"d2\n')).toMatchObject({ stopped: true, problems: [{ line: 2 }, { line: 3, message: expect.stringContaining("not closed") }] });
    expect(checkDeviceCsv("name\nd1\n")).toMatchObject({ stopped: true, problems: [{ line: 1 }] });
    expect(checkDeviceCsv("")).toMatchObject({ stopped: false, problems: [{ line: 1, message: expect.stringContaining("no header") }] });
    const many = `id\n${Array.from({ length: 10 }, (_, i) => `bad ${i}`).join("\n")}\n`;
    expect(checkDeviceCsv(many, 3)).toMatchObject({ stopped: true, problems: [{ line: 2 }, { line: 3 }, { line: 4 }] });
  });

  it("formatDeviceCsv writes rows that parse back to themselves", () => {
    const want: Array<{ id: string; type: string; labels: Record<string, string> }> = [
      { id: "d1", type: "t.x", labels: { note: 'a, "b"', site: "berlin=1" } },
      { id: "d_2", type: "", labels: {} },
    ];
    expect(rows(formatDeviceCsv(want)).map(({ line: _line, ...r }) => r)).toEqual(want);
  });
});
