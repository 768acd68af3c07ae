/**
 * Is `name` a name IAM allows for a role: 1 to 64 letters, digits and `+=,.@_-`? A role name from
 * a flag or from an event is the intruder's to choose; fir builds ARNs, queries and commands only
 * from one that passes.
 */
export function isRoleName(name: string): boolean {
  return /^[\w+=,.@-]{1,64}$/.test(name)
}
