/** `updraft users create|list|delete|reset-password`: who may use the webserver and the API. */
import type { Command } from "commander";
import { InvalidInputError } from "../../../core/errors.ts";
import { checkPasswordPolicy, hashPassword, randomPassword } from "../../../api/auth/passwords.ts";
import { checkRole, ROLES, userStore } from "../../../storage/users.ts";
import { withContext } from "../../context.ts";
import { outputOption, printRows, type OutputFormat } from "../../output.ts";

interface PasswordOptions {
  password?: string;
  passwordStdin?: boolean;
  randomPassword?: boolean;
}

/** The password from --password, standard input, or a generated one (printed once). */
async function passwordOf(
  o: PasswordOptions,
  username: string,
): Promise<{ password: string; generated: boolean }> {
  if (o.randomPassword) return { password: randomPassword(), generated: true };
  if (o.passwordStdin) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const password = Buffer.concat(chunks)
      .toString("utf8")
      .replace(/\r?\n$/, "");
    if (password) return { password, generated: false };
  }
  if (o.password) return { password: o.password, generated: false };
  throw new InvalidInputError(
    `user "${username}": give a password with --password, --password-stdin or --random-password`,
  );
}

const addPasswordOptions = (c: Command) =>
  c
    .option(
      "-p, --password <password>",
      "the password (visible in your shell history: prefer --password-stdin)",
    )
    .option("--password-stdin", "read the password from standard input")
    .option("--random-password", "generate a password and print it once");

export function register(program: Command): void {
  const group = program.command("users").description("Manage the users of the webserver and the API");

  addPasswordOptions(
    group
      .command("create")
      .description(`Create a user with a role (${ROLES.join(", ")})`)
      .requiredOption("-u, --username <name>", "login name")
      .requiredOption("-r, --role <role>", `one of ${ROLES.join(", ")}`)
      .option("-e, --email <email>", "e-mail address")
      .option("-f, --firstname <name>", "first name")
      .option("-l, --lastname <name>", "last name"),
  ).action(
    (
      o: PasswordOptions & {
        username: string;
        role: string;
        email?: string;
        firstname?: string;
        lastname?: string;
      },
    ) =>
      withContext(async (ctx) => {
        const role = checkRole(o.role);
        const { password, generated } = await passwordOf(o, o.username);
        checkPasswordPolicy(o.username, password, ctx.config.values.api.password_min_length);
        await userStore(await ctx.database()).create({
          username: o.username,
          role,
          passwordHash: await hashPassword(password),
          email: o.email,
          firstName: o.firstname,
          lastName: o.lastname,
        });
        process.stderr.write(`User ${o.username} created with role ${role}.\n`);
        if (generated) process.stdout.write(`${password}\n`);
      }),
  );

  group
    .command("list")
    .description("List users")
    .addOption(outputOption())
    .action((o: { output: OutputFormat }) =>
      withContext(async (ctx) => {
        const users = await userStore(await ctx.database()).list();
        printRows(
          users.map((u) => ({
            username: u.username,
            role: u.role,
            email: u.email,
            first_name: u.first_name,
            last_name: u.last_name,
            active: u.active === 1,
            last_login: u.last_login,
          })),
          o.output,
          ["username", "role", "email", "first_name", "last_name", "active", "last_login"],
        );
      }),
    );

  group
    .command("delete")
    .description("Delete a user")
    .requiredOption("-u, --username <name>", "login name")
    .action((o: { username: string }) =>
      withContext(async (ctx) => {
        await userStore(await ctx.database()).delete(o.username);
        process.stderr.write(`User ${o.username} deleted.\n`);
      }),
    );

  addPasswordOptions(
    group
      .command("reset-password")
      .description(
        "Set a new password for a user (ends their sessions and tokens, and unlocks it after failed logins)",
      )
      .requiredOption("-u, --username <name>", "login name"),
  ).action((o: PasswordOptions & { username: string }) =>
    withContext(async (ctx) => {
      const { password, generated } = await passwordOf(o, o.username);
      checkPasswordPolicy(o.username, password, ctx.config.values.api.password_min_length);
      await userStore(await ctx.database()).setPassword(o.username, await hashPassword(password));
      process.stderr.write(`Password of ${o.username} reset; their sessions and tokens have ended.\n`);
      if (generated) process.stdout.write(`${password}\n`);
    }),
  );
}
