import { parseLoginName } from "./login-name.js";

describe("parseLoginName", () => {
  it.each([
    ["admin", { user: "admin", width: 80 }],
    ["admin+ct200w", { user: "admin", width: 200 }],
    ["admin+c80w", { user: "admin", width: 80 }],
    ["admin+t40w25h", { user: "admin", width: 40 }],
    ["admin+cte", { user: "admin", width: 80 }],
    ["admin+0w", { user: "admin", width: 80 }],
  ])("reads %j", (name, login) => {
    expect(parseLoginName(name)).toEqual(login);
  });
});
