//! What a wrong password costs, by what is stored: an argon2id hash, one of Bedrud's bcrypt
//! forms (imported), or nothing (an unknown address). The three should be equal (one argon2id
//! and two bcrypt verifications each), so timing does not tell them apart.
//! Run: `cargo bench -p bedrud-shared --bench password_check`.

use bedrud_shared::auth::PasswordHasher;
use bedrud_shared::domain::Password;
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let h = PasswordHasher::new();
    let argon = rt
        .block_on(h.hash(&Password::new_password("correct horse battery").unwrap()))
        .unwrap();
    let bcrypt = "$2a$10$061BWsCndeGXvmNB6kXLWOZC95pXiDq0h.jkQ6SPW9Ld1N9Tjxohm".to_string();
    let wrong = Password::presented("correct horse batterie").unwrap();
    let mut g = c.benchmark_group("wrong_password");
    g.sample_size(20);
    for (name, stored) in [
        ("argon2id", Some(argon)),
        ("bcrypt", Some(bcrypt)),
        ("unknown", None),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| rt.block_on(h.check(stored.as_deref(), &wrong)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
