// Level-of-service colours. The ramp's lightness falls monotonically from A to F, so the order
// survives every kind of colour blindness and greyscale; the letter is always written as well.

const RAMP = ["#f3efd2", "#f9d77e", "#f6a94b", "#e0683a", "#b22c45", "#5c1a4a"];
const NO_DATA = "#5b6472";

export function losLetters(losBands) {
  const entries = Object.entries(losBands || {});
  if (entries.length === 0) return ["A", "B", "C", "D", "E", "F"];
  return entries.sort((a, b) => a[1] - b[1]).map(([letter]) => letter);
}

/** Fill colour of a LOS letter; letters beyond the ramp take its darkest step. */
export function losColour(letter, letters) {
  const index = letters.indexOf(letter);
  if (index < 0) return NO_DATA;
  // Spread fewer bands over the whole ramp so the first is still light and the last still dark.
  const step = letters.length <= 1 ? 0 : Math.round((index * (RAMP.length - 1)) / (letters.length - 1));
  return RAMP[Math.min(step, RAMP.length - 1)];
}

/** Dark text on the light half of the ramp, light text on the dark half. */
export function losTextColour(letter, letters) {
  const fill = losColour(letter, letters);
  const r = parseInt(fill.slice(1, 3), 16);
  const g = parseInt(fill.slice(3, 5), 16);
  const b = parseInt(fill.slice(5, 7), 16);
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return luminance > 140 ? "#111418" : "#ffffff";
}

export const NO_DATA_COLOUR = NO_DATA;

/**
 * The map's overlay colours, one per meaning (style.css holds the same values as --patrol, --selection,
 * --region, --assigned; a module test keeps the two equal). On a wall they were all one light blue, and
 * an operator could not tell a patrol's track from the zone they had clicked or the area they had drawn.
 * None is a zone fill (calm greens, warning yellow, critical red, severity.js); each also differs in form:
 * - patrol: Okabe-Ito sky blue; a dot with its accuracy circle and a fading solid track;
 * - selection: white; a wide solid outline round the selected zone, and under the zone panel's name;
 * - region: Okabe-Ito orange; a dashed outline over a faint fill (and the pressed drawing tool);
 * - assigned: Okabe-Ito reddish purple; a ring on the patrol and a dashed line to its zone (assignments.js).
 */
export const MAP_COLOURS = Object.freeze({
  patrol: "#56b4e9",
  selection: "#ffffff",
  region: "#e69f00",
  assigned: "#cc79a7",
});
