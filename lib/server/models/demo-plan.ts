import { ASSIGN_MARKER, MAX_SUBTASKS, PLANNER_TASK_MARKER, RESULTS_LINE, STEP_CONTEXT, VERIFY_INSTRUCTION, type Subtask } from "@/lib/workflow";
import { topicOf } from "./demo-content";

/**
 * How the offline demo model plans (issue 14): deterministic, and sensible enough that every
 * topology can be produced without keys. It splits a task into its listed parts ("…: pricing,
 * the team and a recommendation"), or into steps ("outline…, then draft…, then edit…"); a
 * conclusion, summary, comparison or recommendation depends on the other parts; "each of" makes
 * the parts items of one kind of work. A task with no list becomes outline → draft → review.
 */

type SchemaLike = { properties?: Record<string, SchemaLike>; items?: SchemaLike };

const STEP_WORDS = /(?:,?\s*\b(?:and then|then|after that|afterwards|finally)\b[,\s]*|\s*(?:->|→|;)\s*)/i;
const DEPENDENT = /\b(conclusions?|summary|summari[sz]e|recommend(?:ation)?s?|verdict|comparison|compare|overall|synthesis|final)\b/i;

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const titleOf = (text: string) => capitalise(text.replace(/[.:;,!?]+$/, "").trim()).slice(0, 60);

function chain(steps: string[]): Subtask[] {
  return steps.map((step, i) => ({
    id: `s${i + 1}`,
    title: titleOf(step.replace(/^(?:first|start by|begin by)\s+/i, "")),
    prompt: `${capitalise(step.replace(/^(?:first|start by|begin by)\s+/i, ""))}.`,
    dependsOn: i ? [`s${i}`] : [],
  }));
}

/** The demo planner: the same task always gives the same plan. */
export function demoPlan(task: string): Subtask[] {
  const clean = task.replace(/\s+/g, " ").trim().replace(/[.!?]+$/, "");
  const steps = clean.split(STEP_WORDS).map((s) => s.trim()).filter((s) => s.length > 2);
  if (steps.length >= 2) return chain(steps).slice(0, MAX_SUBTASKS);

  const colon = clean.indexOf(":");
  const head = colon > 0 ? clean.slice(0, colon) : "";
  const list = colon > 0 ? clean.slice(colon + 1) : clean;
  const parts = list
    .split(/\s*,\s*(?:and\s+|or\s+)?|\s+and\s+|\s*&\s*/i)
    .map((p) => p.trim())
    .filter((p) => p.length > 1);
  if (parts.length < 2) {
    return chain([
      `outline the answer to the task: the points it must cover, in order`,
      `draft the answer from the outline`,
      `review the draft: fix errors, tighten it and give the final version`,
    ]);
  }
  const items = /\b(each|every|per)\b/i.test(head);
  const verb = (head.match(/^\s*([A-Za-z]+)/)?.[1] ?? "Cover").toLowerCase();
  // Parts without their own verb ("a limerick") borrow the first part's ("Write a haiku").
  const leadVerb = colon > 0 ? undefined : /^([A-Za-z]+)\s+(?:a|an|the|some|\d+)\b/i.exec(parts[0])?.[1];
  const subtasks = parts.slice(0, MAX_SUBTASKS).map((raw, i): Subtask => {
    const part = raw.replace(/^(?:a|an|the)\s+/i, "");
    const id = `s${i + 1}`;
    if (DEPENDENT.test(part)) return { id, title: titleOf(part), prompt: `Write the ${part}, drawing on the results of the other parts.`, dependsOn: [] };
    if (items) return { id, title: titleOf(part), prompt: `${capitalise(verb)} ${part}: summarise what matters most about it for this task, with two or three concrete facts and one open question.`, dependsOn: [] };
    if (colon > 0) return { id, title: titleOf(part), prompt: `Work out the ${part} for this task.`, dependsOn: [] };
    const instruction = leadVerb && !new RegExp(`^${leadVerb}\\b`, "i").test(raw) ? `${leadVerb} ${raw}` : raw;
    return { id, title: titleOf(instruction.replace(new RegExp(`^${leadVerb ?? "\\0"}\\s+(?:a|an|the)?\\s*`, "i"), "")), prompt: `${capitalise(instruction)}.`, dependsOn: [] };
  });
  const independent = subtasks.filter((s) => !DEPENDENT.test(s.title)).map((s) => s.id);
  for (const subtask of subtasks) if (DEPENDENT.test(subtask.title) && independent.length < subtasks.length) subtask.dependsOn = independent;
  return subtasks;
}

/** Structured answers for planning prompts: the planner's subtasks, or a coordinator's assignment of them. */
export function demoPlanObject(user: string, schema: SchemaLike): unknown {
  const props = schema.properties ?? {};
  if (props.subtasks?.items?.properties?.dependsOn) {
    const at = user.indexOf(PLANNER_TASK_MARKER);
    return { subtasks: demoPlan(at >= 0 ? user.slice(at + PLANNER_TASK_MARKER.length) : user) };
  }
  if (props.items && user.includes(ASSIGN_MARKER)) {
    const items = [...user.matchAll(/^\d+\. name: (.*?) \| instructions: (.*?)(?: \| after: (others))?$/gm)].map((m) => ({
      name: m[1],
      instructions: m[2],
      after: m[3] ?? "",
    }));
    return { items };
  }
  return undefined;
}

/**
 * Prompts of planned workflows, for the demo model: a step quotes the whole task after its own
 * instructions, so it is answered as its own instructions on the task's topic (`prompt`, to
 * answer as usual); a verifying synthesis answers with the results it was given, checked (`text`).
 */
export function demoStep(user: string): { prompt: string } | { text: string } | undefined {
  if (user.includes(VERIFY_INSTRUCTION)) {
    const at = user.indexOf(RESULTS_LINE);
    const results = at >= 0 ? user.slice(at + RESULTS_LINE.length).trim() : "";
    const flagged = /The agreement check flagged: ([^\n]+)/.exec(user)?.[1];
    const topic = topicOf(user);
    return {
      text: `# ${capitalise(topic)}: checked and combined\n\n${results}\n\n${flagged ? `Checked against each other. The agreement check flagged: ${flagged} Read that part with care.` : "Checked against each other: the parts are consistent; nothing had to be reconciled."}`,
    };
  }
  const at = user.indexOf(STEP_CONTEXT);
  if (at < 0) return undefined;
  const own = user.slice(0, at).trim();
  const task = user.slice(at + STEP_CONTEXT.length).split("\n")[0];
  return { prompt: `${own}\n\ntopic: ${topicOf(task)}` };
}
