import { z } from "zod";

/** A batch size: a count (`1`, `5`) or a share of the remaining plan (`"10%"`), as Ansible's `serial`. */
export const BatchSize = z.union([
  z.number().int().positive(),
  z.string().regex(/^([1-9][0-9]?|100)%$/, "a percentage such as \"10%\""),
]);
