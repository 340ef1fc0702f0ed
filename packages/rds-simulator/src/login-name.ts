/** RouterOS's default console width, used when the login name does not set one. */
const DEFAULT_WIDTH = 80;

export interface Login {
  readonly user: string;
  readonly width: number;
}

/**
 * Splits a RouterOS login name into the user and its console options: `admin+ct200w` is user `admin`
 * with no colours (`c`), no terminal detection (`t`) and width 200 (`200w`). Only the width changes what
 * the simulator prints; other options are accepted and ignored.
 */
export function parseLoginName(loginName: string): Login {
  const plus = loginName.indexOf("+");
  if (plus < 0) return { user: loginName, width: DEFAULT_WIDTH };
  const width = /(\d+)w/u.exec(loginName.slice(plus + 1));
  const parsed = width === null ? DEFAULT_WIDTH : Number(width[1]);
  return { user: loginName.slice(0, plus), width: parsed > 0 ? parsed : DEFAULT_WIDTH };
}
