/**
 * What the offline demo model says. Deterministic for a given prompt (a seeded generator),
 * topical (the topic is read from the prompt), and shaped for each pattern: jokes that a gate
 * or an evaluator can tell apart, stories, poems, report plans and sections, route decisions
 * and grades. It is a demo, not a language model: the UI says so.
 */

export type Rng = () => number;

export function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rng: Rng, list: ReadonlyArray<T>): T => list[Math.floor(rng() * list.length)];

/** The subject of a prompt: "…about cats." → "cats"; falls back to the first noun-ish phrase. */
export function topicOf(prompt: string): string {
  const patterns = [
    /\b(?:about|on|regarding|of a report on|report on)\s+([^.\n?!:]{2,60})/i,
    /\btopic:\s*([^\n]{2,60})/i,
  ];
  for (const pattern of patterns) {
    const match = pattern.exec(prompt);
    if (match) return match[1].trim().replace(/^(the|a|an)\s+/i, "").replace(/["'“”]/g, "");
  }
  const words = prompt.replace(/[^\p{L}\p{N}\s-]/gu, " ").split(/\s+/).filter((w) => w.length > 3);
  return words.slice(-2).join(" ") || "this";
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

// ── Jokes ───────────────────────────────────────────────────────────────────

/** Drafts: some end on a question or exclamation (a "punchline" for the gate), some are flat. */
const JOKE_DRAFTS: ReadonlyArray<(t: string) => string> = [
  (t) => `Why did the ${t} sit on the keyboard?\nBecause it wanted to keep an eye on the mouse!`,
  (t) => `I tried to explain ${t} to my neighbour.\nNow we have two confused neighbours.`,
  (t) => `What do you call ${t} with a calendar?\nBooked solid!`,
  (t) => `My therapist told me to embrace ${t}.\nSo I did, and now it follows me around the house.`,
  (t) => `I bought a book about ${t}.\nIt was impossible to put down, mostly because it was glued to the table.`,
  (t) => `How does ${t} stay so calm?\nIt never reads the comments!`,
];

export function draftJoke(topic: string, rng: Rng): string {
  return pick(rng, JOKE_DRAFTS)(topic);
}

/** A revision adds the tag line the evaluator asks for: a third line that calls back to the setup. */
export function revisedJoke(topic: string, rng: Rng): string {
  const draft = draftJoke(topic, rng);
  const tags = [
    `And that, friends, is why ${topic} never get invited twice.`,
    `Which explains why ${topic} still have no five-star reviews.`,
    `Honestly, that is the most organised thing ${topic} have ever done.`,
  ];
  return `${draft}\n${pick(rng, tags)}`;
}

export function improvedJoke(source: string, topic: string, rng: Rng): string {
  const base = source.trim() || draftJoke(topic, rng);
  const puns = [
    `It was a purr-fectly reasonable plan, if you ask the ${topic}.`,
    `Talk about a ${topic}-astrophe of epic proportions.`,
    `You could say it was a paws-itively brilliant idea.`,
  ];
  return `${base}\nWordplay bonus: ${pick(rng, puns)}`;
}

export function twistedJoke(source: string, topic: string, rng: Rng): string {
  const base = source.trim() || draftJoke(topic, rng);
  const twists = [
    `Plot twist: the ${topic} wrote this joke, and it still thinks you are the punchline.`,
    `Twist: the neighbour was the ${topic} all along.`,
    `The real twist? The ${topic} had the last laugh, and the last word.`,
  ];
  return `${base}\n${pick(rng, twists)}`;
}

/** How the demo evaluator grades a joke: it wants a setup, a punchline and a tag line. */
export function gradeJoke(text: string, topic: string): { grade: "pass" | "fail"; feedback: string } {
  const lines = text.trim().split("\n").filter((line) => line.trim());
  if (lines.length >= 3) {
    return { grade: "pass", feedback: "The tag line calls back to the setup and lands the joke. Keep it." };
  }
  return {
    grade: "fail",
    feedback: `The punchline is there but the joke stops short. Add a tag line that calls back to the setup about ${topic}.`,
  };
}

// ── Stories and poems ───────────────────────────────────────────────────────

export function story(topic: string, rng: Rng): string {
  const names = ["Mira", "Tomas", "Ada", "Jun", "Lena", "Oskar"];
  const places = ["a lighthouse town", "a rooftop garden", "a night train", "an old bookshop", "a harbour market"];
  const name = pick(rng, names);
  const place = pick(rng, places);
  return [
    `${name} had lived in ${place} for eleven years before ${topic} changed everything.`,
    `It started on a Tuesday, the way strange things do. ${capitalise(topic)} appeared where nobody expected them, and the neighbours argued about what it meant until the streetlights came on.`,
    `${name} listened, took notes, and quietly did the one thing no one else had tried: paid attention. By the end of the week the whole of ${place} was talking about ${topic} differently — not as a problem, but as a reason to meet.`,
    `Years later, when people asked how it began, ${name} would only smile and say: "We noticed."`,
  ].join("\n\n");
}

export function poem(topic: string, rng: Rng): string {
  const openings = [
    `Soft as a rumour, ${topic} arrive,`,
    `In the hush before morning, ${topic} wake,`,
    `Nobody asked for ${topic}, and yet,`,
  ];
  return [
    pick(rng, openings),
    "they fold the day into a smaller shape;",
    "the kettle hums, the window keeps its light,",
    "and every ordinary hour escapes.",
    "",
    `So here's to ${topic}, to the quiet they bring,`,
    "to small things noticed, to the way they stay —",
    "a line of sun across the kitchen floor,",
    "a reason, after all, to start the day.",
  ].join("\n");
}

// ── Reports ─────────────────────────────────────────────────────────────────

const SECTION_POOL: ReadonlyArray<(t: string) => { name: string; description: string }> = [
  (t) => ({ name: "Background", description: `Where ${t} comes from and why it matters now.` }),
  (t) => ({ name: "Key concepts", description: `The ideas and vocabulary needed to reason about ${t}.` }),
  (t) => ({ name: "Current state", description: `What is known about ${t} today, with the strongest evidence.` }),
  (t) => ({ name: "Applications", description: `Where ${t} is used in practice and what it changes.` }),
  (t) => ({ name: "Challenges and open questions", description: `What limits ${t} and what remains unresolved.` }),
];

/** 3–6 sections: an introduction, two to four body sections, and a conclusion that needs the others. */
export function reportPlan(topic: string, rng: Rng, maxItems = 6): Array<{ name: string; description: string }> {
  const bodyCount = 1 + Math.floor(rng() * 4);
  const body = [...SECTION_POOL].sort(() => rng() - 0.5).slice(0, bodyCount).map((make) => make(topic));
  const plan = [
    { name: "Introduction", description: `What ${topic} is and what this report covers.` },
    ...body,
    { name: "Conclusion", description: `What the sections above add up to, and what to watch next.` },
  ];
  return plan.slice(0, Math.max(1, maxItems));
}

export function reportSection(name: string, description: string, topic: string, others: string[], rng: Rng): string {
  const heading = `## ${name}`;
  if (/conclusion|summary/i.test(name) && others.length) {
    const list = others.map((title) => `**${title}**`).join(", ");
    return [
      heading,
      `Taken together, the sections on ${list} describe ${topic} as a field that is moving fast but resting on a few durable ideas.`,
      `The practical lesson is to follow the evidence rather than the headlines: the strongest results discussed above are also the most carefully measured, and the open questions are where the next surprises about ${topic} will come from.`,
    ].join("\n\n");
  }
  const openers = [
    `${capitalise(description.replace(/\.$/, ""))}.`,
    `This section looks at ${name.toLowerCase()} in the context of ${topic}.`,
  ];
  const bodies = [
    `Practitioners who work with ${topic} tend to agree on the basics, and disagree productively on the details. The useful distinction is between what has been measured repeatedly and what has only been observed once.`,
    `Three points stand out. First, ${topic} rewards careful measurement. Second, small changes in setup can produce large changes in outcome. Third, the best results come from combining several modest improvements rather than one dramatic one.`,
    `A concrete example helps: teams that adopted ${topic} incrementally reported fewer surprises than those that switched all at once, and they kept better records of what changed.`,
  ];
  return [heading, pick(rng, openers), pick(rng, bodies), pick(rng, bodies)].filter((p, i, all) => all.indexOf(p) === i).join("\n\n");
}

export function synthesis(joined: string, topic: string): string {
  const headings = [...joined.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => m[1].trim());
  const covered = headings.length ? headings.join(", ") : "the material above";
  return `# ${capitalise(topic)}: a synthesis\n\nThis summary draws on ${covered}. The through-line is that ${topic} is best understood by separating durable findings from passing claims, and by checking each conclusion against the evidence presented in the sections.`;
}

export function genericAnswer(prompt: string, topic: string, rng: Rng): string {
  const closers = [
    "That is the short version; the details depend on what you need it for.",
    "If you want, the next step can go deeper on any one of these points.",
  ];
  const asked = prompt.trim().split("\n")[0].slice(0, 120);
  return `Here is a response to "${asked}".\n\nOn ${topic}: the essentials are what it is, why it matters, and what to do next. Start from the concrete case in front of you, check it against what is already known, and keep a record of what changed.\n\n${pick(rng, closers)}`;
}

/**
 * A branch asked to check its answer against the others (the aggregate's re-run policy): it takes up
 * what they said — the demo's way of being persuaded — so a re-run round raises the agreement.
 */
export function reconciled(note: string, topic: string): string {
  const peers = note.split(/^--- [^\n]* ---$/m).slice(1).map((text) => text.trim()).filter(Boolean);
  const sentences = peers.flatMap((text) => (text.replace(/\s+/g, " ").match(/[^.!?]+[.!?]+/g) ?? [text]).slice(0, 3).map((sentence) => sentence.trim()));
  const kept = sentences.filter((sentence, i) => sentences.indexOf(sentence) === i);
  return `Checked against the other answers on ${topic}, I agree with them.\n\n${kept.join(" ")}`;
}
