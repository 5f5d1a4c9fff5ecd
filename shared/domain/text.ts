/** Checks on free text that the API stores and shows. */

// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f-\u009f]/;
