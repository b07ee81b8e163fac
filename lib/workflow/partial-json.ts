/**
 * Reads the object a structured answer has streamed so far: its JSON text, cut at the last
 * complete value and closed (`{"title":"Ow` reads as `{ title: "Ow" }`). One linear scan and one
 * JSON.parse, so a reader can call it once per frame on a growing text without the work piling
 * up per delta. Returns undefined while nothing is readable yet.
 */
export function parsePartialJson(text: string): unknown {
  // The containers open at each point: "}" or "]" to close them, innermost last.
  const closers: string[] = [];
  // Whether the innermost object expects a key next (after "{" or ",").
  const expectKey: boolean[] = [];
  // What closes every open container, innermost first: rebuilt only when a bracket opens or closes.
  let closing = "";
  let cutAt = -1;
  let cutClosers = "";
  let inString = false;
  let stringIsKey = false;
  let escaped = false;
  let unicodeLeft = 0;
  let scalarStart = -1;

  const markCut = (end: number, extra = "") => {
    cutAt = end;
    cutClosers = extra ? extra + closing : closing;
  };
  const endScalar = (end: number) => {
    if (scalarStart < 0) return;
    const scalar = text.slice(scalarStart, end).trim();
    scalarStart = -1;
    if (/^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)$/.test(scalar)) markCut(end);
  };

  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (unicodeLeft > 0) {
        unicodeLeft--;
      } else if (escaped) {
        escaped = false;
        if (ch === "u") unicodeLeft = 4;
      } else if (ch === "\\") {
        escaped = true;
      } else if (ch === '"') {
        inString = false;
        if (!stringIsKey) markCut(i + 1);
      }
      // A value string can be shown as far as it has come (never inside an escape).
      if (inString && !stringIsKey && !escaped && unicodeLeft === 0) markCut(i + 1, '"');
      continue;
    }
    switch (ch) {
      case '"': {
        endScalar(i);
        inString = true;
        stringIsKey = closers.at(-1) === "}" && expectKey.at(-1) === true;
        if (stringIsKey) expectKey[expectKey.length - 1] = false;
        else markCut(i + 1, '"');
        break;
      }
      case "{":
      case "[":
        endScalar(i);
        closers.push(ch === "{" ? "}" : "]");
        expectKey.push(ch === "{");
        closing = closers.at(-1)! + closing;
        markCut(i + 1);
        break;
      case "}":
      case "]":
        endScalar(i);
        closers.pop();
        expectKey.pop();
        closing = closing.slice(1);
        markCut(i + 1);
        break;
      case ",":
        endScalar(i);
        if (closers.at(-1) === "}") expectKey[expectKey.length - 1] = true;
        break;
      case ":":
        break;
      default:
        if (scalarStart < 0 && !/\s/.test(ch)) scalarStart = i;
    }
  }
  if (!inString) endScalar(text.length);
  if (cutAt < 0) return undefined;
  try {
    return JSON.parse(text.slice(0, cutAt) + cutClosers);
  } catch {
    return undefined;
  }
}
