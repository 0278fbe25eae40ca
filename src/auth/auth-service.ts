import { conflict, unauthorized } from '../errors.js';
import type { UsersRepository } from '../users/users-repository.js';
import { dummyHashPromise, hashPassword, verifyPassword } from './password.js';
import type { TokenService } from './tokens.js';

export interface AuthResult {
  token: string;
  userId: number;
  email: string;
  nickname: string;
}

export function createAuthService(deps: { users: UsersRepository; tokens: TokenService }) {
  let dummyHash: Promise<string> | undefined;

  return {
    async signup(input: { email: string; password: string; nickname: string }): Promise<AuthResult> {
      const passwordHash = await hashPassword(input.password);
      const user = await deps.users.insert({ email: input.email, passwordHash, nickname: input.nickname });
      if (!user) throw conflict('Email is already registered');
      return { token: deps.tokens.sign(user), userId: user.id, email: user.email, nickname: user.nickname };
    },

    async login(input: { email: string; password: string }): Promise<AuthResult> {
      const user = await deps.users.findCredentialsByEmail(input.email);
      // Verify against a dummy hash for unknown emails, so response time does not reveal who has an account.
      dummyHash ??= dummyHashPromise();
      const ok = await verifyPassword(user?.passwordHash ?? (await dummyHash), input.password);
      if (!user || !ok) throw unauthorized('Invalid email or password');
      return { token: deps.tokens.sign(user), userId: user.id, email: user.email, nickname: user.nickname };
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
