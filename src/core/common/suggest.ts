import type { AwsClients } from '../../aws/clients.js'
import { redactUrlPasswords } from './redact.js'
import { shellArg } from './text.js'

export interface SuggestOptions {
  /**
   * The region the suggested command must act in (a function's, from its ARN): named when it is
   * not the default region, or when --region was given. Without it, --region as given.
   */
  region?: string
  /** Another role to act as (another account's key), or null for none; else --role-arn as given. */
  roleArn?: string | null
  /** The case folder: `--case DIR`, last. */
  caseDir?: string
}

/**
 * The AWS flags to repeat in a command fir suggests: --region, --profile, --role-arn and
 * --endpoint-url as this command was given them, so that the suggestion, pasted as printed, acts in
 * the same account, region and endpoint rather than in the default profile's.
 */
export function awsFlagWords(aws: AwsClients, options: SuggestOptions = {}): FlagWord[] {
  const given = aws.given
  const region = options.region ?? given.region
  const roleArn = options.roleArn === undefined ? given.roleArn : options.roleArn
  return [
    ...(region !== undefined && (given.region !== undefined || region !== aws.region)
      ? [flag('--region', region)]
      : []),
    ...(given.profile ? [flag('--profile', given.profile)] : []),
    ...(roleArn ? [flag('--role-arn', roleArn)] : []),
    // A password in the endpoint is not repeated (the suggestion is printed, and may be journaled).
    ...(given.endpoint ? [flag('--endpoint-url', redactUrlPasswords(given.endpoint))] : []),
  ]
}

/**
 * A word of a suggested command the responder must fill in (a value fir may not print): shown bare
 * as `<name>`, never quoted, as fir's placeholders are: pasted unfilled, the shell takes it for a
 * redirection from a file of that name and runs nothing, rather than set the placeholder's text.
 */
export interface Placeholder {
  placeholder: string
}

/**
 * A flag and its value: `--user alice`. A value that starts with '-' is joined to its flag
 * (`--user=-h`): on its own, fir (oclif) and the AWS CLI would read it as a flag (`-h` as help).
 */
export interface FlagWord {
  flag: string
  value: string | Placeholder
}

/**
 * A positional argument (a function name, a secret id). When one starts with '-', every positional
 * argument goes last, after `--` (every flag before it): fir (oclif) reads what follows `--` as
 * arguments, never as flags, where `fir creds rotate-secret -h` showed help and
 * `… --endpoint-url=http://evil.example/` set a flag.
 */
export interface ArgWord {
  arg: string
}

/**
 * A word of a suggested command: fir's own (a command name, a flag without a value, a fixed
 * value), a flag with its value, a positional argument, or a placeholder. A value that is not
 * fir's own (a name read from AWS or CloudTrail, a path the responder gave) is a FlagWord or an
 * ArgWord, never a bare string: only they keep a value that starts with '-' a value.
 */
export type CommandWord = string | Placeholder | FlagWord | ArgWord | RawWord

/** fir's own text shown as it is, unquoted: a value with placeholders in it (`s3://<bucket>/<prefix>`). */
export interface RawWord {
  raw: string
}

export const flag = (name: string, value: string | Placeholder): FlagWord => ({ flag: name, value })
export const arg = (value: string): ArgWord => ({ arg: value })

const valueWord = (w: string | Placeholder) => (typeof w === 'string' ? shellArg(w) : `<${w.placeholder}>`)

function flagWord(w: FlagWord): string {
  if (typeof w.value === 'string' && w.value.startsWith('-')) return shellArg(`${w.flag}=${w.value}`)
  return `${w.flag} ${valueWord(w.value)}`
}

/**
 * Words of a command line to paste, each shell-quoted (a placeholder bare), a value that starts
 * with '-' kept a value (see FlagWord, ArgWord).
 */
export function commandWords(words: readonly CommandWord[]): string {
  const afterDashes = words.some((w) => typeof w === 'object' && 'arg' in w && w.arg.startsWith('-'))
  const out: string[] = []
  const args: string[] = []
  for (const w of words) {
    if (typeof w === 'string') out.push(shellArg(w))
    else if ('raw' in w) out.push(w.raw)
    else if ('placeholder' in w) out.push(valueWord(w))
    else if ('flag' in w) out.push(flagWord(w))
    else (afterDashes ? args : out).push(shellArg(w.arg))
  }
  return (afterDashes ? [...out, '--', ...args] : out).join(' ')
}

/** A command line to paste: `program` and its words (commandWords). */
export function commandLine(program: string, words: readonly CommandWord[]): string {
  return words.length ? `${program} ${commandWords(words)}` : program
}

/**
 * A fir command line to paste: `fir <words> <AWS flags as given> --case DIR`, each word shell-quoted
 * (a placeholder shown bare, see Placeholder).
 */
export function firCommand(words: CommandWord[], aws: AwsClients, options: SuggestOptions = {}): string {
  return commandLine('fir', [
    ...words,
    ...awsFlagWords(aws, options),
    ...(options.caseDir !== undefined ? [flag('--case', options.caseDir)] : []),
  ])
}

/** An AWS CLI command line with no flag but `--region` (where no command's AWS flags are known). */
export function plainAwsCliCommand(words: CommandWord[], region: string | null | undefined): string {
  return commandLine('aws', [...words, ...(region ? [flag('--region', region)] : [])])
}

/**
 * An AWS CLI command line to paste, with the region, profile and endpoint this command was given
 * (the AWS CLI has the same flags, but no --role-arn: a role fir assumed is named in a comment).
 * Its option values are FlagWords: the AWS CLI takes one that starts with '-' only as `--name=value`.
 */
export function awsCliCommand(
  words: CommandWord[],
  aws: AwsClients,
  options: { region?: string } = {},
): string {
  const line = commandLine('aws', [...words, ...awsFlagWords(aws, { ...options, roleArn: null })])
  return aws.given.roleArn ? `${line}  # as ${aws.given.roleArn}` : line
}
