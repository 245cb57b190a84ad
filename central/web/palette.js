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
