import { describe, expect, it } from "vitest";

import { KEYS, translate } from "./i18n";

describe("translations", () => {
  it("every key has an English and a different Chinese text", () => {
    expect(KEYS.length).toBeGreaterThan(40);
    for (const key of KEYS) {
      expect(translate("en", key).length, key).toBeGreaterThan(0);
      expect(translate("zh", key).length, key).toBeGreaterThan(0);
      expect(translate("zh", key), key).not.toBe(translate("en", key));
    }
  });
});
