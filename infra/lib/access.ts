/**
 * Who may create and poll jobs: nobody is asked in `anonymous` mode; `jwt` mode trusts bearer
 * tokens from any OIDC issuer (API Gateway's JWT authorizer checks signature, issuer, audience
 * and expiry); `cognito` mode creates a user pool (admin-created users, no self sign-up) and
 * authorizes its tokens the same way.
 */
import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer, HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import type { StemSplitterConfig } from './config.js';

export class JobsAccess extends Construct {
  /** The authorizer for the job routes; undefined in anonymous mode. */
  readonly authorizer?: IHttpRouteAuthorizer;
  readonly userPool?: cognito.UserPool;
  readonly userPoolClient?: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, config: Pick<StemSplitterConfig, 'authMode' | 'jwtIssuer' | 'jwtAudience'>) {
    super(scope, id);
    if (config.authMode === 'jwt') {
      this.authorizer = new HttpJwtAuthorizer('JobsJwt', config.jwtIssuer, { jwtAudience: config.jwtAudience, identitySource: ['$request.header.Authorization'] });
    } else if (config.authMode === 'cognito') {
      this.userPool = new cognito.UserPool(this, 'Users', {
        selfSignUpEnabled: false,
        signInAliases: { email: true },
        passwordPolicy: { minLength: 12, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true },
        mfa: cognito.Mfa.OPTIONAL,
        mfaSecondFactor: { otp: true, sms: false },
        accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // a public client (browser page, CLI): no secret; SRP and password sign-in; short-lived tokens
      this.userPoolClient = this.userPool.addClient('Client', {
        generateSecret: false,
        authFlows: { userSrp: true, userPassword: true },
        accessTokenValidity: Duration.hours(1),
        idTokenValidity: Duration.hours(1),
        preventUserExistenceErrors: true,
      });
      this.authorizer = new HttpUserPoolAuthorizer('JobsUserPool', this.userPool, { userPoolClients: [this.userPoolClient] });
      new CfnOutput(scope, 'UserPoolId', { value: this.userPool.userPoolId, description: 'Cognito user pool of API users (authMode=cognito)' });
      new CfnOutput(scope, 'UserPoolClientId', { value: this.userPoolClient.userPoolClientId, description: 'App client for the page and the CLI' });
    }
  }
}
