export { AUDIENCES } from './audiences.ts'
export {
  AuthError,
  type AuthErrorCode,
  createTokenVerifier,
  type TokenVerifier,
  type VerifiedToken,
} from './verifier.ts'
